"""The TF-IDF + logistic regression partner (class_linear.py): the same probabilities as
scikit-learn's pipeline, saved and loaded without pickle, the blend weight chosen on validation,
and a classifier run that blends (or, with --blend none, does not)."""

import json
import random

import numpy as np
import pytest

import recur
from recur.classify.linear import blend, choose_weight, fit_linear, load_linear
from tests.classify.test_classifier import TINY, write_csv

WORDS = {
    "north": "snow ice cold wind pine frost".split(),
    "south": "sun sand heat palm beach dry".split(),
    "east": "rice tea silk jade river temple".split(),
}


def texts_and_labels(count, classes, seed=0):
    rng = random.Random(seed)
    rows = [(rng.choice(classes), rng.randint(2, 8)) for _ in range(count)]
    # a shared word and a word of another class keep the probabilities away from 0 and 1
    texts = [
        " ".join([rng.choice(WORDS[c]) for _ in range(n)] + ["the", rng.choice(WORDS[classes[0]])])
        for c, n in rows
    ]
    return texts, [c for c, _ in rows]


@pytest.mark.parametrize("classes", [["east", "north", "south"], ["north", "south"]])
def test_probabilities_match_scikit_learn(classes):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    texts, labels = texts_and_labels(60, classes)
    reference = make_pipeline(
        make_union(
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char", ngram_range=(2, 5), sublinear_tf=True),
        ),
        LogisticRegression(max_iter=2000, class_weight="balanced"),
    ).fit(texts, labels)
    model = fit_linear(texts, labels, classes)
    test, _ = texts_and_labels(20, classes, seed=1)
    expected = reference.predict_proba(test + ["sun unseen words"])
    got = model.probabilities(test + ["sun unseen words"])
    assert got.shape == (21, len(classes))
    assert np.abs(got - expected).max() < 1e-4  # coefficients kept in float32
    assert 0.01 < expected.min() and expected.max() < 0.99  # the check is not of 0s and 1s


def test_save_and_load_predict_the_same(tmp_path):
    classes = ["east", "north", "south"]
    texts, labels = texts_and_labels(50, classes)
    model = fit_linear(texts, labels, classes)
    model.blend_weight = 0.35
    model.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["linear.json", "linear.safetensors"]
    loaded = load_linear(tmp_path)
    assert loaded.blend_weight == 0.35 and loaded.classes == classes
    assert np.array_equal(loaded.probabilities(texts), model.probabilities(texts))
    assert load_linear(tmp_path / "nothing") is None


def test_a_class_missing_from_training_gets_no_probability():
    texts, labels = texts_and_labels(40, ["north", "south"])
    model = fit_linear(texts, labels, ["east", "north", "south"])
    assert model.probabilities(texts)[:, 0].max() < 1e-6


def guesses(true, accuracy, confidence, seed):
    """(N, 3) probabilities: ``confidence`` on a guess that is right with ``accuracy``."""
    rng = np.random.default_rng(seed)
    right = rng.random(len(true)) < accuracy
    guess = np.where(right, true, (true + rng.integers(1, 3, len(true))) % 3)
    probabilities = np.full((len(true), 3), (1 - confidence) / 2)
    probabilities[np.arange(len(true)), guess] = confidence
    return probabilities


def test_the_weight_follows_the_better_model():
    rng = np.random.default_rng(0)
    true = rng.integers(0, 3, 300)
    sharp = np.full((300, 3), 0.1)
    sharp[np.arange(300), true] = 0.8  # right, fairly sure
    noise = rng.dirichlet(np.ones(3), 300)  # knows nothing
    assert choose_weight(sharp, noise, true)[0] == 0.0
    assert choose_weight(noise, sharp, true)[0] == 1.0
    # an over-sure model right 85% of the time and a modest one right 75%, wrong on other
    # rows: each corrects the other, so the blend takes some of both
    assert (
        0.2
        < choose_weight(guesses(true, 0.85, 0.98, 1), guesses(true, 0.75, 0.6, 2), true)[0]
        < 0.8
    )
    mixed = blend(sharp, noise, 0.5)
    assert np.allclose(mixed.sum(axis=1), 1.0)
    assert np.allclose(blend(sharp, noise, 0.0), sharp) and np.allclose(
        blend(sharp, noise, 1), noise
    )


def test_a_run_blends_and_predicts_with_the_blend(tmp_path):
    rows = [(c, t, "2000") for t, c in zip(*texts_and_labels(90, ["east", "north", "south"]))]
    data = write_csv(tmp_path / "train.csv", rows)
    # after one epoch the RNN is unsure and the validation split asks for the TF-IDF model
    options = dict(text_column="text", label_column="label", epochs=1, **TINY)
    model = recur.train(data, out=str(tmp_path / "run"), **options)
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    weight = report["blend_weight"]
    assert weight > 0 and "rnn_alone" in report and model.linear.blend_weight == weight
    assert (tmp_path / "run" / "best" / "linear.json").is_file()
    texts = [t for _, t, _ in rows[:10]]
    rnn, linear = model._parts(texts)
    assert np.allclose(model.probabilities(texts), blend(rnn, linear, weight))
    assert not np.allclose(model.probabilities(texts), rnn, atol=1e-2)
    result = model.evaluate(str(data))
    assert result["blend_weight"] == weight and "rnn_alone" in result
    assert result["baselines"]["tfidf_logreg"]["examples"] == len(rows)
    plain = recur.train(data, out=str(tmp_path / "plain"), blend="none", **options)
    assert plain.linear is None and not (tmp_path / "plain" / "best" / "linear.json").exists()
    assert np.array_equal(plain.probabilities(texts), plain._parts(texts)[0])
    assert "rnn_alone" not in json.loads((tmp_path / "plain" / "report.json").read_text())
