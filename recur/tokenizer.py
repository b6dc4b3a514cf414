"""Tokenizers: text <-> token ids, fitted on the training split and saved as ``tokenizer.json``.

Every tokenizer has ``fit(texts)``, ``encode(text)``, ``decode(ids)``, ``vocab_size``, the special
ids (``pad_id``, ``unk_id``, ``bos_id``, ``eos_id``) and ``save(path)``; ``load_tokenizer(path)``
reads any of them back. The JSON file is all that generation needs: no vocabulary lives elsewhere.
``MidiTokenizer``, the event vocabulary of music, lives in midi_tokenizer.py.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .errors import RecurError
from .midi_tokenizer import MidiTokenizer

SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")


class CharTokenizer:
    """One id per Unicode code point seen in training, after the four special tokens."""

    kind = "char"

    def __init__(self, symbols: Sequence[str] = ()):
        self.symbols = list(SPECIALS) + [s for s in symbols if s not in SPECIALS]
        self.index = {symbol: i for i, symbol in enumerate(self.symbols)}
        # Sorted code points of the ordinary symbols, for vectorised encoding of big texts.
        ordinary = [(ord(s), i) for i, s in enumerate(self.symbols) if len(s) == 1]
        ordinary.sort()
        self._codepoints = np.array([c for c, _ in ordinary], dtype=np.uint32)
        self._ids = np.array([i for _, i in ordinary], dtype=np.int32)

    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3

    @property
    def vocab_size(self) -> int:
        return len(self.symbols)

    def fit(self, texts: Iterable[str]) -> "CharTokenizer":
        seen: set[str] = set()
        for text in texts:
            seen.update(text)
        self.__init__(sorted(seen))
        return self

    def encode(self, text: str) -> list[int]:
        return self.encode_array(text).tolist()

    def encode_array(self, text: str) -> np.ndarray:
        """Vectorised ``encode``: int32 ids, unseen characters become ``unk_id``."""
        codepoints = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        if len(self._codepoints) == 0:
            return np.full(len(codepoints), self.unk_id, dtype=np.int32)
        where = np.searchsorted(self._codepoints, codepoints).clip(0, len(self._codepoints) - 1)
        found = self._codepoints[where] == codepoints
        return np.where(found, self._ids[where], self.unk_id).astype(np.int32)

    def unknown(self, text: str) -> list[str]:
        """Characters of ``text`` the tokenizer never saw, in order of first appearance."""
        return list(dict.fromkeys(ch for ch in text if ch not in self.index))

    def decode(self, ids: Iterable[int]) -> str:
        skip = (self.pad_id, self.bos_id, self.eos_id)
        return "".join(self.symbols[i] for i in ids if i not in skip)

    def to_dict(self) -> dict:
        return {"type": self.kind, "symbols": self.symbols[len(SPECIALS):]}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")


TOKENIZERS = {CharTokenizer.kind: CharTokenizer, MidiTokenizer.kind: MidiTokenizer}


def tokenizer_from_dict(values: dict):
    kind = values.get("type")
    if kind not in TOKENIZERS:
        raise RecurError(f"unknown tokenizer type {kind!r} in tokenizer.json")
    cls = TOKENIZERS[kind]
    return cls.from_dict(values) if hasattr(cls, "from_dict") else cls(values["symbols"])


def load_tokenizer(path: str | Path):
    try:
        values = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RecurError(f"{path}: cannot read the tokenizer ({error})") from None
    return tokenizer_from_dict(values)


def build_tokenizer(level: str):
    if level not in TOKENIZERS:
        raise RecurError(f"unknown --level {level!r}; choose from {', '.join(TOKENIZERS)}")
    return TOKENIZERS[level]()
