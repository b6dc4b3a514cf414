"""Batching for classifiers: stratified splits, length-bucketed batches, balanced sampling,
class weights, padding and word dropout.

Bucketing: each epoch shuffles the examples (seeded by seed and epoch, so a resumed run draws the
same batches), cuts them into pools of 50 batches, sorts each pool by length and cuts it into
batches, then shuffles the batch order. A batch then holds texts of similar length, so a long
song does not make 31 short ones pay for its padding, while batches still differ every epoch.
"""

from __future__ import annotations

import numpy as np
import torch

from recur.errors import RecurError
from recur.tokenizers import WordTokenizer

POOL_BATCHES = 50


def reported_split(labels: list, fraction: float, seed: int, lines: list) -> tuple[list, list]:
    """``stratified_split``, with the classes too small to validate on named in ``lines``; an
    empty validation split is an error the user can fix."""
    train, val, too_small = stratified_split(labels, fraction, seed)
    if too_small:
        lines.append(
            "classes too small for the validation split (kept for training only): "
            + ", ".join(f"{c} ({n})" for c, n in too_small.items())
        )
    if not val:
        raise RecurError("the validation split is empty: raise --val-fraction")
    return train, val


def split_summary(level: str, seed: int, train: list, val: list, tokenizer) -> list[str]:
    """The summary lines of a classifier's split and tokenizer, the same for the in-memory and
    the on-disk preparation."""
    lines = [
        f"split (stratified, seed {seed}): {len(train):,} training and {len(val):,} "
        f"validation rows; {level} vocabulary {tokenizer.vocab_size:,}"
    ]
    if isinstance(tokenizer, WordTokenizer):
        lines.append(tokenizer.describe())
    return lines


def stratified_split(labels: list, fraction: float, seed: int) -> tuple[list, list, dict]:
    """Indices of a seeded split keeping each class's share in both parts, and the classes too
    small to appear in validation (fewer than 2 rows): they stay in training only."""
    rng = np.random.default_rng(seed)
    by_class: dict = {}
    for index, label in enumerate(labels):
        by_class.setdefault(label, []).append(index)
    train, val, too_small = [], [], {}
    for label in sorted(by_class):
        indices = np.array(by_class[label])
        rng.shuffle(indices)
        count = 0
        if fraction > 0 and len(indices) < 2:
            too_small[label] = len(indices)
        elif fraction > 0:  # at least one row on each side
            count = min(max(int(round(len(indices) * fraction)), 1), len(indices) - 1)
        val.extend(indices[:count].tolist())
        train.extend(indices[count:].tolist())
    return sorted(train), sorted(val), too_small


def epoch_order(labels: np.ndarray, sampler: str, seed: int, epoch: int) -> np.ndarray:
    """The examples of one epoch: a permutation, or (balanced) as many draws with replacement,
    each class equally likely."""
    rng = np.random.default_rng([seed, epoch])
    if sampler != "balanced":
        return rng.permutation(len(labels))
    counts = np.bincount(labels)
    weights = 1.0 / counts[labels]
    return rng.choice(len(labels), size=len(labels), replace=True, p=weights / weights.sum())


def bucket_batches(
    order: np.ndarray, lengths: np.ndarray, batch_size: int, seed: int, epoch: int
) -> list[np.ndarray]:
    """``order`` cut into batches of similar lengths, in a seeded random batch order."""
    rng = np.random.default_rng([seed, epoch, 1])
    batches: list[np.ndarray] = []
    pool = batch_size * POOL_BATCHES
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def length_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """For evaluation: every example once, sorted by length (order restored by the caller)."""
    order = np.argsort(lengths, kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def pad(sequences: list) -> tuple[torch.Tensor, torch.Tensor]:
    """Id arrays -> (B, T) int64 ids padded with 0 on the right, and (B,) lengths.
    An empty sequence (nothing left after tokenizing) is given one <unk> so it can be packed."""
    lengths = np.array([max(len(s), 1) for s in sequences])
    ids = np.zeros((len(sequences), lengths.max()), dtype=np.int64)
    for row, sequence in enumerate(sequences):
        if len(sequence):
            ids[row, : len(sequence)] = sequence
        else:
            ids[row, 0] = 1
    return torch.from_numpy(ids), torch.from_numpy(lengths)


def class_weights(labels: np.ndarray, num_classes: int, mode: str) -> torch.Tensor | None:
    """``balanced``: n / (C * count_c) per class, as scikit-learn defines it; ``none``: None."""
    if mode != "balanced":
        return None
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    weights = len(labels) / (num_classes * np.maximum(counts, 1))
    return torch.tensor(weights, dtype=torch.float32)


def drop_words(
    ids: torch.Tensor, fraction: float, unknown_id: int, first_word_id: int, seed: int, step: int
) -> torch.Tensor:
    """Word dropout: each ordinary token (id ``first_word_id`` or above) of a padded (B, T) batch
    becomes ``unknown_id`` with probability ``fraction``; padding and the special and condition
    tokens stay. Seeded by (seed, step), so a resumed run drops the same words."""
    if fraction <= 0:
        return ids
    generator = torch.Generator().manual_seed(seed * 1_000_003 + step)
    hit = (torch.rand(ids.shape, generator=generator) < fraction) & (ids >= first_word_id)
    return ids.masked_fill(hit, unknown_id)
