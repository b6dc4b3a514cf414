"""The TF-IDF + logistic regression text model: the baseline every classifier report carries,
and the partner a classifier blends with (``--blend tfidf``).

Features are TF-IDF of word 1-2-grams and character 2-5-grams (sublinear term frequency, each
block L2-normalised, as scikit-learn's ``TfidfVectorizer`` computes them), each block capped at
``MAX_FEATURES`` of its most frequent terms. scikit-learn fits the logistic regression; what is
kept is plain data (vocabularies in ``linear.json``, idf weights and coefficients in
``linear.safetensors``), so a run never stores or loads a pickle and predicting needs only
counting and one matrix product. Probabilities are ``softmax(X W^T + b)`` over the classes in
the run's order; a two-class fit (one coefficient row ``w``) is stored as the rows ``0`` and
``w``, whose softmax is the same sigmoid.

The blend is the weighted geometric mean ``p ~ p_rnn^(1 - w) * p_linear^w``, with ``w`` the one of
0, 0.05, ..., 1 with the lowest cross-entropy on the validation split (0 keeps the RNN alone); the
blend beat both of its parts on lyrics, see docs/experiments.md. scikit-learn (the classify extra)
is imported only when a model is fitted or used, so loading a language model never pays for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from recur.errors import RecurError
from recur.extras import require
from recur.runs.integrity import MANIFEST, read_json, refuse_code, write_manifest

MAX_FEATURES = 300_000
MAX_ROWS = 5_000  # more training rows: a seeded sample of these (big inputs; memory)
BATCH_ROWS = 2_000  # texts turned into features at a time when predicting
BLOCKS = ({"analyzer": "word", "ngram_range": (1, 2)}, {"analyzer": "char", "ngram_range": (2, 5)})
WEIGHTS = np.round(np.linspace(0.0, 1.0, 21), 2)
FILES = ("linear.json", "linear.safetensors")
NEEDED_FOR = "the TF-IDF model"  # what a missing classify extra's error names


@dataclass
class LinearModel:
    """A fitted TF-IDF + logistic regression over ``classes`` (in the run's order)."""

    classes: list
    vocabularies: list  # one {term: column} per block of BLOCKS
    idf: list  # one (F_block,) array per block
    coef: np.ndarray  # (C, F) over the blocks side by side
    intercept: np.ndarray  # (C,)
    blend_weight: float | None = None  # w of the blend, once chosen

    def features(self, texts: list):
        """(N, F) sparse TF-IDF rows of ``texts``."""
        sparse = require("scipy.sparse", "classify", NEEDED_FOR)
        text = require("sklearn.feature_extraction.text", "classify", NEEDED_FOR)
        normalize = require("sklearn.preprocessing", "classify", NEEDED_FOR).normalize
        blocks = []
        for settings, vocabulary, idf in zip(BLOCKS, self.vocabularies, self.idf):
            counts = text.CountVectorizer(vocabulary=vocabulary, **settings).transform(texts)
            counts = counts.astype(np.float64)
            np.log(counts.data, out=counts.data)
            counts.data += 1.0  # sublinear tf: 1 + log(tf)
            blocks.append(normalize(counts.multiply(idf).tocsr()))
        return sparse.hstack(blocks).tocsr()

    def probabilities(self, texts: list) -> np.ndarray:
        """(N, C) class probabilities, ``BATCH_ROWS`` texts at a time (bounded memory)."""
        if len(texts) <= BATCH_ROWS:
            return softmax(self.features(texts) @ self.coef.T + self.intercept)
        return np.concatenate(
            [
                self.probabilities(texts[i : i + BATCH_ROWS])
                for i in range(0, len(texts), BATCH_ROWS)
            ]
        )

    def save(self, directory) -> None:
        directory = Path(directory)
        meta = {
            "classes": self.classes,
            "blocks": [dict(b, ngram_range=list(b["ngram_range"])) for b in BLOCKS],
            "vocabularies": self.vocabularies,
            "blend_weight": self.blend_weight,
        }
        # written beside the checkpoint's files, each under a temporary name renamed into place
        temporary = [directory / f".{name}.tmp" for name in FILES]
        temporary[0].write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        tensors = {f"idf_{i}": idf.astype(np.float32) for i, idf in enumerate(self.idf)}
        save_file(
            {
                **tensors,
                "coef": self.coef.astype(np.float32),
                "intercept": self.intercept.astype(np.float32),
            },
            str(temporary[1]),
        )
        for source, name in zip(temporary, FILES):
            source.replace(directory / name)
        if (directory / MANIFEST).is_file():
            write_manifest(directory)  # the checkpoint's checksums now cover these files too


def softmax(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    scores = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


def baseline_rows(count: int, seed: int = 0) -> np.ndarray:
    """The training rows the TF-IDF model fits on: all of them up to ``MAX_ROWS``, else a
    seeded sample of ``MAX_ROWS`` (in order)."""
    if count <= MAX_ROWS:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, MAX_ROWS, replace=False))


def fit_linear(
    texts: list, labels: list, classes: list, class_weight: str = "balanced"
) -> LinearModel:
    """Fit on training ``texts`` and their ``labels`` (class names); every class of ``classes``
    should have rows (a class with none gets probability near 0). ``class_weight`` as the
    classifier's ``--class-weight`` (balanced weights help on skewed classes; see
    docs/experiments.md)."""
    text = require("sklearn.feature_extraction.text", "classify", NEEDED_FOR)
    linear_model = require("sklearn.linear_model", "classify", NEEDED_FOR)
    pipeline = require("sklearn.pipeline", "classify", NEEDED_FOR)
    vectorizers = [
        text.TfidfVectorizer(sublinear_tf=True, max_features=MAX_FEATURES, **settings)
        for settings in BLOCKS
    ]
    features = pipeline.make_union(*vectorizers).fit_transform(texts)
    weight = "balanced" if class_weight == "balanced" else None
    regression = linear_model.LogisticRegression(max_iter=2000, class_weight=weight)
    regression.fit(features, labels)
    fitted = list(regression.classes_)
    coef, intercept = regression.coef_, regression.intercept_
    if len(fitted) == 2:  # sigmoid(s) = softmax([0, s])[1]
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    rows = {name: i for i, name in enumerate(fitted)}
    full_coef = np.zeros((len(classes), coef.shape[1]))
    full_intercept = np.full(len(classes), -1e4)  # a class unseen in training
    for position, name in enumerate(classes):
        if name in rows:
            full_coef[position], full_intercept[position] = coef[rows[name]], intercept[rows[name]]
    # rounded to the float32 they are saved in, so a loaded model predicts exactly the same
    stored = [np.float32(a).astype(np.float64) for a in (full_coef, full_intercept)]
    return LinearModel(
        list(classes),
        [{term: int(i) for term, i in v.vocabulary_.items()} for v in vectorizers],
        [np.float32(v.idf_).astype(np.float64) for v in vectorizers],
        *stored,
    )


def load_linear(directory) -> LinearModel | None:
    """The model saved in ``directory``, or None when it holds none."""
    directory = Path(directory)
    if not all((directory / name).is_file() for name in FILES):
        return None
    meta = read_json(directory / FILES[0])
    refuse_code(directory / FILES[1])
    try:
        tensors = load_file(str(directory / FILES[1]))
        idf = [tensors[f"idf_{i}"].astype(np.float64) for i in range(len(BLOCKS))]
        return LinearModel(
            meta["classes"],
            meta["vocabularies"],
            idf,
            tensors["coef"].astype(np.float64),
            tensors["intercept"].astype(np.float64),
            meta.get("blend_weight"),
        )
    except (SafetensorError, KeyError, TypeError, ValueError) as error:
        raise RecurError(
            f"{directory}: the TF-IDF model ({', '.join(FILES)}) cannot be read "
            f"({type(error).__name__}: {error}); restore the run from a copy"
        ) from None


def blend(rnn: np.ndarray, linear: np.ndarray, weight: float) -> np.ndarray:
    """The weighted geometric mean of two (N, C) probability arrays, normalised."""
    tiny = 1e-12
    return softmax((1.0 - weight) * np.log(rnn + tiny) + weight * np.log(linear + tiny))


def choose_weight(rnn: np.ndarray, linear: np.ndarray, true: np.ndarray) -> tuple:
    """(w, cross-entropy at w) with the lowest cross-entropy of the blend on rows whose class
    ids are ``true``; ties go to the smaller w (more of the RNN)."""
    rows = np.arange(len(true))
    losses = [float(-np.log(blend(rnn, linear, w)[rows, true] + 1e-12).mean()) for w in WEIGHTS]
    best = int(np.argmin(losses))
    return float(WEIGHTS[best]), losses[best]
