"""Occlusion attributions and the deletion check, on a classifier whose reasons are known."""

import numpy as np

from recur.classify.attribution import deletion_check, token_contributions, without


class CountingClassifier:
    """'pos' grows with each 'good', 'neg' with each 'bad'; other words do nothing."""

    classes = ["neg", "pos"]

    def probabilities(self, texts):
        rows = []
        for text in texts:
            words = text.split()
            score = words.count("good") - words.count("bad")
            positive = 1 / (1 + np.exp(-score))
            rows.append([1 - positive, positive])
        return np.array(rows)


def test_the_deciding_word_scores_highest_and_the_rest_nothing():
    explained = token_contributions(CountingClassifier(), "the film was good and long")
    assert explained["class"] == "pos"
    scores = {word["text"]: word["score"] for word in explained["words"]}
    assert scores["good"] > 0.2
    assert all(abs(score) < 1e-9 for word, score in scores.items() if word != "good")
    first = explained["words"][0]
    assert (first["start"], first["end"]) == (0, 3)


def test_a_word_against_the_prediction_scores_below_zero():
    explained = token_contributions(CountingClassifier(), "good good bad plot")
    scores = [word["score"] for word in explained["words"]]
    assert explained["class"] == "pos" and scores[2] < 0 < scores[0]


def test_long_texts_are_occluded_in_groups():
    text = " ".join(["filler"] * 50 + ["good"])
    explained = token_contributions(CountingClassifier(), text, max_words=10)
    assert len(explained["words"]) == 51
    assert explained["words"][-1]["score"] > 0.2


def test_removing_the_top_words_hurts_more_than_random_ones():
    texts = [f"one two three four good five six seven eight {i}" for i in range(6)]
    check = deletion_check(CountingClassifier(), texts, count=1)
    assert check["texts"] == 6
    assert check["top_drop"] > check["random_drop"] >= 0


def test_without_collapses_the_gap():
    assert without("a  bb c", [(3, 5)]) == "a c"
