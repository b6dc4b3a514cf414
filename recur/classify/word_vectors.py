"""Word vectors from a classifier's own training split, to start its embedding from:
``ppmi_svd`` (``--embedding-init svd``, the default for word and BPE classifiers).

A classifier trained from scratch on a few thousand texts learns each word's embedding from the
few texts that hold it and their labels only. The counts of which words occur near which others
in those same texts say more: words used alike ("truck", "whiskey", "dirt") get similar rows. The
classic recipe (Levy, Goldberg and Dagan, 2015) turns those counts into vectors cheaply:

1. co-occurrence counts within ``window`` tokens on either side, weighted 1/distance;
2. positive pointwise mutual information, with the context counts raised to 0.75;
3. a truncated (randomised) SVD of that sparse matrix, rows scaled by the square root of the
   singular values.

The vectors are scaled to a standard deviation of 1, like nn.Embedding's own initialisation, and
the embedding then trains as usual. Only training-split texts are read, so nothing of the
validation or test rows leaks in, plus any unlabelled text given with ``--vectors-from`` (files or
folders read line by line, one text per line, cleaned and tokenized like the training rows):
word vectors from more text of the same kind are a cheap form of pretraining. scipy and
scikit-learn (the classify extra) are imported when vectors are made.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator

import numpy as np

from recur.data.readers import collect_files, read_lines
from recur.extras import require

WINDOW, CONTEXT_POWER = 5, 0.75
CHUNK_TOKENS = 1_000_000
NEEDED_FOR = "--embedding-init svd"  # what a missing classify extra's error names


def _sparse():
    return require("scipy.sparse", "classify", NEEDED_FOR)


def cooccurrence(
    id_arrays: Iterable, vocab_size: int, window: int = WINDOW, chunk_tokens: int = CHUNK_TOKENS
):
    """Symmetric (V, V) sparse counts of token pairs at most ``window`` apart, weighted
    1/distance; pairs never cross from one text to the next. Texts are counted in chunks of
    about ``chunk_tokens`` tokens, so memory follows the distinct pairs, not the corpus."""
    sparse = _sparse()
    total = sparse.csr_matrix((vocab_size, vocab_size))
    chunk, size = [], 0
    for ids in itertools.chain(id_arrays, [None]):
        if ids is not None:
            chunk.append(np.asarray(ids, dtype=np.int64))
            size += len(ids)
        if chunk and (ids is None or size >= chunk_tokens):
            total = total + _count_pairs(chunk, vocab_size, window)
            chunk, size = [], 0
    return (total + total.T).tocoo()


def _count_pairs(chunk: list, vocab_size: int, window: int):
    sparse = _sparse()
    rows, columns, weights = [], [], []
    for distance in range(1, window + 1):
        for ids in chunk:
            if len(ids) > distance:
                rows.append(ids[:-distance])
                columns.append(ids[distance:])
                weights.append(np.full(len(ids) - distance, 1.0 / distance))
    if not rows:
        return sparse.csr_matrix((vocab_size, vocab_size))
    return sparse.coo_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(columns))),
        shape=(vocab_size, vocab_size),
    ).tocsr()


def positive_pmi(counts):
    """PPMI of a sparse co-occurrence matrix, with smoothed (power 0.75) context probabilities."""
    sparse = _sparse()
    total = counts.sum()
    word = np.asarray(counts.sum(axis=1)).ravel() / total
    context = np.asarray(counts.sum(axis=0)).ravel() ** CONTEXT_POWER
    context /= context.sum()
    pmi = np.log(counts.data / total / word[counts.row] / context[counts.col])
    keep = pmi > 0
    return sparse.csr_matrix((pmi[keep], (counts.row[keep], counts.col[keep])), shape=counts.shape)


def ppmi_svd(
    id_arrays: Iterable, vocab_size: int, dimension: int, seed: int = 0, window: int = WINDOW
) -> np.ndarray:
    """(V, dimension) float32 word vectors from the token id arrays of the training texts; rows
    of tokens that never occur near another are 0. Needs ``dimension`` < V."""
    extmath = require("sklearn.utils.extmath", "classify", NEEDED_FOR)
    matrix = positive_pmi(cooccurrence(id_arrays, vocab_size, window))
    vectors = np.zeros((vocab_size, dimension))
    if matrix.nnz:
        left, singular, _ = extmath.randomized_svd(matrix, dimension, random_state=seed)
        vectors = left * np.sqrt(singular)
    used = np.diff(matrix.indptr) > 0  # rows with any positive PMI
    vectors[~used] = 0
    if used.any():
        vectors /= vectors[used].std()
    return vectors.astype(np.float32)


def unlabelled_texts(paths: str, prepared, encoding: str) -> Iterator:
    """Token id arrays of every non-empty line of the ``--vectors-from`` files and folders,
    read one line at a time (they are counted in chunks, so a corpus larger than memory is
    fine)."""
    for path in collect_files([name for name in paths.split(",") if name.strip()]):
        for line in read_lines(path, encoding):
            if line.strip():
                yield prepared.tokenizer.encode_array(prepared.preprocessor.clean(line))


class Tally:
    """Passes id arrays through, counting the arrays and their tokens."""

    def __init__(self, arrays: Iterable):
        self.arrays, self.texts, self.tokens = arrays, 0, 0

    def __iter__(self):
        for ids in self.arrays:
            self.texts, self.tokens = self.texts + 1, self.tokens + len(ids)
            yield ids


def starting_vectors(prepared, model, classifier, data, seed: int):
    """``--embedding-init svd``: the vectors a new classifier's embedding starts from, or None
    (random initialisation; character vocabularies too small for the embedding width)."""
    if classifier.embedding_init != "svd":
        return None
    if model.vocab_size <= 2 * model.embedding_size:
        prepared.lines.append(
            f"embedding: random (a vocabulary of {model.vocab_size} is too "
            f"small for {model.embedding_size} word-vector dimensions)"
        )
        return None
    tick = time.perf_counter()
    extra = (
        unlabelled_texts(classifier.vectors_from, prepared, data.encoding)
        if classifier.vectors_from
        else []
    )
    counted = Tally(itertools.chain(prepared.train.ids, extra))
    vectors = ppmi_svd(counted, model.vocab_size, model.embedding_size, seed)
    prepared.lines.append(
        "embedding: started from PPMI + SVD word vectors of the training split"
        + (
            f" and {counted.texts - len(prepared.train.ids):,} lines of {classifier.vectors_from}"
            if classifier.vectors_from
            else ""
        )
        + f" ({counted.tokens:,} tokens, window {WINDOW}, "
        f"{time.perf_counter() - tick:.1f} s)"
    )
    return vectors
