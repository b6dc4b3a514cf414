"""Word-level tokenizer: a regular-expression split, a counted vocabulary, ``<unk>`` for the rest.

Words are runs of letters and digits (``don't`` stays whole); with ``split_punctuation`` every
other non-space character is a token of its own, without it a word is any run of non-space
characters (WikiText's pre-tokenized ``@-@`` stays one word). ``split_punctuation="auto"`` decides
at fit time from the first megabyte of training text (``detect_split``): text whose punctuation
already stands alone (Penn Treebank, WikiText) is split at spaces only, so its token count is the
standard one; the tokenizer keeps the choice, so a saved run always splits as it was trained.
A line end is a token (``\\n``), so line structure survives. The literal text ``<unk>`` (as
WikiText writes rare words) is the unknown token. Decoding joins words with single spaces, without
a space before closing punctuation: the round trip is exact up to spacing.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from recur.tokenizers.base import SPECIALS, SymbolTable

SPLIT = re.compile(r"<unk>|\w+(?:['’]\w+)*|[^\w\s]|\n")
WHOLE = re.compile(r"<unk>|[^\s]+|\n")
NO_SPACE_BEFORE = set(".,!?;:%)]}…")
NO_SPACE_AFTER = set("([{$")
# Punctuation touching a word as prose writes it ("speak," "(Reuters)"), and whitespace tokens that
# are only punctuation or a clitic ("," "@-@" "'s" "n't") as pre-tokenised corpora write them.
GLUED = re.compile(r"\w[,;:!?\")\]]|[\"(\[]\w")
ALONE = re.compile(r"[^\w\s]+|['’]\w+|n['’]t")
SAMPLE_CHARACTERS = 1_000_000


class WordTokenizer(SymbolTable):
    """Words seen at least ``min_count`` times in training (the ``max_vocab`` most frequent)."""

    kind = "word"
    unit = "words"

    def __init__(
        self,
        symbols: Sequence[str] = (),
        conditions: Sequence[str] = (),
        lowercase: bool = False,
        split_punctuation: bool | str = True,
        min_count: int = 1,
        max_vocab: int = 0,
    ):
        self.lowercase, self.split_punctuation = lowercase, split_punctuation
        self.min_count, self.max_vocab = min_count, max_vocab
        self.split_note = ""
        self._set_symbols(symbols, conditions)

    def words(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        return (SPLIT if self.split_punctuation else WHOLE).findall(text)

    def fit(self, texts: Iterable[str], conditions: Sequence[str] = ()) -> WordTokenizer:
        if self.split_punctuation == "auto":
            texts = self._decide_split(iter(texts))
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

    def _decide_split(self, texts: Iterator[str]) -> Iterable[str]:
        """Read the start of ``texts`` to settle "auto"; the texts, none lost, for the fit."""
        head, size = [], 0
        for text in texts:
            head.append(text)
            size += len(text)
            if size >= SAMPLE_CHARACTERS:
                break
        sample = "".join(head)[:SAMPLE_CHARACTERS]
        self.split_punctuation, self.split_note = detect_split(sample)
        return itertools.chain(head, texts)

    def describe(self) -> str:
        """How the text is cut into words, for the training summary."""
        how = "at punctuation and spaces" if self.split_punctuation else "at spaces only"
        return f"words split {how}" + (f" ({self.split_note})" if self.split_note else "")

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
            "split_note": self.split_note,
        }

    @classmethod
    def from_dict(cls, values: dict) -> WordTokenizer:
        tokenizer = cls(
            values["symbols"],
            values.get("conditions", ()),
            values["lowercase"],
            values["split_punctuation"],
            values["min_count"],
            values["max_vocab"],
        )
        tokenizer.split_note = values.get("split_note", "")
        return tokenizer


def detect_split(sample: str) -> tuple[bool, str]:
    """Whether to split punctuation off words, and why, from a sample of the training text: not
    when punctuation and clitics mostly stand alone already (and at least 1 word in 200 does)."""
    words = sample.split()
    if not words:
        return True, "auto: no text to judge, so split as for prose"
    glued = sum(1 for w in words if GLUED.search(w)) / len(words)
    alone = sum(1 for w in words if ALONE.fullmatch(w)) / len(words)
    figures = f"{glued:.1%} of words carry punctuation, {alone:.1%} are punctuation standing alone"
    if alone >= 0.005 and alone >= 4 * glued:
        return False, f"auto: the text is already tokenised; {figures}"
    return True, f"auto: {figures}"
