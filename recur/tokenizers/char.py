"""Character-level tokenizer: one id per code point, vectorised with numpy for big texts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from recur.tokenizers.base import SPECIALS, SymbolTable


class CharTokenizer(SymbolTable):
    """One id per Unicode code point seen in training, after the special and condition tokens."""

    kind = "char"
    unit = "characters"

    def __init__(self, symbols: Sequence[str] = (), conditions: Sequence[str] = ()):
        self._set_symbols(symbols, conditions)

    def _set_symbols(self, symbols: Sequence[str], conditions: Sequence[str] = ()) -> None:
        super()._set_symbols(symbols, conditions)
        # Sorted code points of the ordinary symbols, for vectorised encoding of big texts.
        ordinary = [
            (ord(s), i)
            for i, s in enumerate(self.symbols)
            if len(s) == 1 and i >= len(SPECIALS) + len(self.conditions)
        ]
        ordinary.sort()
        self._codepoints = np.array([c for c, _ in ordinary], dtype=np.uint32)
        self._ids = np.array([i for _, i in ordinary], dtype=np.int32)

    def fit(self, texts: Iterable[str], conditions: Sequence[str] = ()) -> CharTokenizer:
        seen: set[str] = set()
        for text in texts:
            seen.update(text)
        self._set_symbols(sorted(seen), conditions)
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
        skip = self.hidden_ids()
        return "".join(self.symbols[i] for i in ids if i not in skip)

    def to_dict(self) -> dict:
        start = len(SPECIALS) + len(self.conditions)
        return {"type": self.kind, "symbols": self.symbols[start:], "conditions": self.conditions}

    @classmethod
    def from_dict(cls, values: dict) -> CharTokenizer:
        return cls(values["symbols"], values.get("conditions", ()))
