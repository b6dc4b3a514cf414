"""Many variable-length arrays in one file: ``RaggedWriter`` appends them, ``Ragged`` reads item i
back by position (a positioned read, no memory map), so a classifier's million texts and their
token ids stay on disk while training reads only its batches.

``Ragged`` is a sequence: ``len``, ``items[i]`` (an id array, or a str for a text file),
iteration, and ``subset(indices)`` (a view of the chosen items in that order). ``lengths`` gives
every item's length without reading any.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Sequence
from pathlib import Path

import numpy as np


class RaggedWriter:
    """Appends arrays (or texts, as UTF-8) to ``path``; ``close()`` returns the offsets."""

    def __init__(self, path: Path, dtype: str):
        self.path, self.dtype = Path(path), np.dtype(dtype)
        self.handle = open(self.path, "wb")
        self.offsets, self.at = array("q", [0]), 0

    def add(self, item) -> None:
        data = item.encode("utf-8") if isinstance(item, str) else item.astype(self.dtype).tobytes()
        self.handle.write(data)
        self.at += len(data) // self.dtype.itemsize
        self.offsets.append(self.at)

    def close(self) -> np.ndarray:
        self.handle.close()
        return np.frombuffer(self.offsets, dtype=np.int64)


class Ragged(Sequence):
    """Item i of a ragged file: ids[offsets[i]:offsets[i + 1]] (decoded for text files)."""

    def __init__(self, path: Path, dtype: str, offsets: np.ndarray, text: bool = False, rows=None):
        self.path, self.dtype, self.offsets, self.text = Path(path), np.dtype(dtype), offsets, text
        self.rows = np.arange(len(offsets) - 1) if rows is None else np.asarray(rows, np.int64)
        self.handle = open(self.path, "rb")

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.subset(range(len(self))[index])
        row = int(self.rows[index])
        first, last = int(self.offsets[row]), int(self.offsets[row + 1])
        size = self.dtype.itemsize
        data = os.pread(self.handle.fileno(), (last - first) * size, first * size)
        return data.decode("utf-8") if self.text else np.frombuffer(data, self.dtype)

    @property
    def lengths(self) -> np.ndarray:
        return (self.offsets[self.rows + 1] - self.offsets[self.rows]).astype(np.int64)

    def subset(self, indices) -> Ragged:
        rows = self.rows[np.asarray(list(indices), dtype=np.int64)]
        return Ragged(self.path, self.dtype.str, self.offsets, self.text, rows)


def lengths_of(items) -> np.ndarray:
    """Every item's length: read from the offsets of a ``Ragged``, counted otherwise."""
    known = getattr(items, "lengths", None)
    if known is not None:
        return np.asarray(known)
    return np.array([len(item) for item in items], dtype=np.int64)
