"""Which words pushed a classifier's decision: occlusion (``token_contributions``) and the deletion
check that shows the ranking is faithful (``deletion_check``).

A word's contribution is how much the predicted class's probability falls when that word alone is
removed from the text. Words, not tokens, are occluded at every level: a character model's single
letters mean little to a reader, and removing a whole word is an input the model has seen. The
classifier is treated as a function of raw text (its ``probabilities``), so the run's
preprocessing and any TF-IDF blend are part of what is explained.
"""

from __future__ import annotations

import re

import numpy as np

WORD = re.compile(r"\S+")


def word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the whitespace-separated words of ``text``."""
    return [match.span() for match in WORD.finditer(text)]


def without(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with the given word spans cut out (the spaces around them collapse to one)."""
    pieces, position = [], 0
    for start, end in sorted(spans):
        pieces.append(text[position:start])
        position = end
    pieces.append(text[position:])
    return re.sub(r"\s+", " ", "".join(pieces)).strip()


def token_contributions(classifier, text: str, max_words: int = 400) -> dict:
    """The predicted class, every class's probability, and each word's contribution to the
    predicted class (positive: the word made that class more likely). Past ``max_words`` words,
    neighbouring words are occluded together so the cost stays at ``max_words`` forward passes."""
    spans = word_spans(text)
    group = max(1, -(-len(spans) // max_words))
    groups = [spans[i : i + group] for i in range(0, len(spans), group)]
    variants = [text] + [without(text, chosen) for chosen in groups]
    probabilities = np.asarray(classifier.probabilities(variants))
    full = probabilities[0]
    predicted = int(full.argmax())
    drops = full[predicted] - probabilities[1:, predicted]
    words = []
    for chosen, drop in zip(groups, drops):
        for start, end in chosen:
            words.append(
                {"text": text[start:end], "start": start, "end": end, "score": float(drop)}
            )
    return {
        "class": classifier.classes[predicted],
        "probabilities": {name: float(p) for name, p in zip(classifier.classes, full)},
        "words": words,
    }


def deletion_check(classifier, texts: list, count: int = 3, seed: int = 0) -> dict:
    """Faithfulness of the ranking: the mean fall in the predicted class's probability when the
    ``count`` highest-scoring words are deleted, against deleting ``count`` random words."""
    generator = np.random.default_rng(seed)
    top_drops, random_drops = [], []
    for text in texts:
        spans = word_spans(text)
        if len(spans) <= count:
            continue
        explained = token_contributions(classifier, text)
        predicted = classifier.classes.index(explained["class"])
        ranked = sorted(range(len(spans)), key=lambda i: -explained["words"][i]["score"])
        chosen = generator.choice(len(spans), size=count, replace=False)
        variants = [
            without(text, [spans[i] for i in ranked[:count]]),
            without(text, [spans[i] for i in chosen]),
        ]
        after = np.asarray(classifier.probabilities(variants))[:, predicted]
        before = explained["probabilities"][explained["class"]]
        top_drops.append(before - after[0])
        random_drops.append(before - after[1])
    if not top_drops:
        return {"texts": 0, "top_drop": 0.0, "random_drop": 0.0}
    return {
        "texts": len(top_drops),
        "top_drop": float(np.mean(top_drops)),
        "random_drop": float(np.mean(random_drops)),
    }
