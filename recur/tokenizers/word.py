"""Word-level tokenizer: a regular-expression split, a counted vocabulary, ``<unk>`` for the rest.

Words are runs of letters and digits (``don't`` stays whole); with ``split_punctuation`` every
other non-space character is a token of its own, without it a word is any run of non-space
characters (WikiText's pre-tokenized ``@-@`` stays one word). A line end is a token (``\\n``), so
line structure survives. The literal text ``<unk>`` (as WikiText writes rare words) is the unknown
token. Decoding joins words with single spaces, without a space before closing punctuation: the
round trip is exact up to spacing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from recur.tokenizers.base import SPECIALS, SymbolTable

SPLIT = re.compile(r"<unk>|\w+(?:['’]\w+)*|[^\w\s]|\n")
WHOLE = re.compile(r"<unk>|[^\s]+|\n")
NO_SPACE_BEFORE = set(".,!?;:%)]}…")
NO_SPACE_AFTER = set("([{$")


class WordTokenizer(SymbolTable):
    """Words seen at least ``min_count`` times in training (the ``max_vocab`` most frequent)."""

    kind = "word"
    unit = "words"

    def __init__(
        self,
        symbols: Sequence[str] = (),
        conditions: Sequence[str] = (),
        lowercase: bool = False,
        split_punctuation: bool = True,
        min_count: int = 1,
        max_vocab: int = 0,
    ):
        self.lowercase, self.split_punctuation = lowercase, split_punctuation
        self.min_count, self.max_vocab = min_count, max_vocab
        self._set_symbols(symbols, conditions)

    def words(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        return (SPLIT if self.split_punctuation else WHOLE).findall(text)

    def fit(self, texts: Iterable[str], conditions: Sequence[str] = ()) -> WordTokenizer:
        counts: Counter = Counter()
        for text in texts:
            counts.update(self.words(text))
        for special in SPECIALS:
            counts.pop(special, None)
        # Most frequent first; ties in alphabetical order so a fit is reproducible.
        kept = sorted(
            (w for w, n in counts.items() if n >= self.min_count), key=lambda w: (-counts[w], w)
        )
        if self.max_vocab > 0:
            kept = kept[: self.max_vocab]
        self._set_symbols(kept, conditions)
        return self

    def encode(self, text: str) -> list[int]:
        get, unk = self.index.get, self.unk_id
        return [get(word, unk) for word in self.words(text)]

    def encode_array(self, text: str) -> np.ndarray:
        return np.array(self.encode(text), dtype=np.int32)

    def unknown(self, text: str) -> list[str]:
        """Words of ``text`` outside the vocabulary, in order of first appearance."""
        return list(dict.fromkeys(w for w in self.words(text) if w not in self.index))

    def decode(self, ids: Iterable[int]) -> str:
        skip, parts, previous, quoted = self.hidden_ids(), [], "\n", False
        for i in ids:
            if i in skip:
                continue
            word = self.symbols[i]
            glued = self.split_punctuation and (
                word in NO_SPACE_BEFORE
                or previous in NO_SPACE_AFTER
                or (word == '"' and quoted)
                or (previous == '"' and quoted)
            )
            if word != "\n" and previous != "\n" and not glued:
                parts.append(" ")
            parts.append(word)
            # Straight double quotes alternate: an opening one glues to the next word, a
            # closing one to the word before.
            quoted = (not quoted if word == '"' else quoted) and word != "\n"
            previous = word
        return "".join(parts)

    def to_dict(self) -> dict:
        start = len(SPECIALS) + len(self.conditions)
        return {
            "type": self.kind,
            "symbols": self.symbols[start:],
            "conditions": self.conditions,
            "lowercase": self.lowercase,
            "split_punctuation": self.split_punctuation,
            "min_count": self.min_count,
            "max_vocab": self.max_vocab,
        }

    @classmethod
    def from_dict(cls, values: dict) -> WordTokenizer:
        return cls(
            values["symbols"],
            values.get("conditions", ()),
            values["lowercase"],
            values["split_punctuation"],
            values["min_count"],
            values["max_vocab"],
        )
