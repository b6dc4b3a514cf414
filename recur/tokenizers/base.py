"""What every tokenizer shares: the four special tokens and the condition (control) tokens.

Ids 0-3 are ``<pad> <unk> <bos> <eos>``; the condition tokens of a conditional model follow them
(``<genre=country>``, one per column value seen in training), then the ordinary tokens.
A conditional document is framed ``<bos> <genre=country> ... <eos>``: the condition is an input
token, so the stream trainer and the one-step sampler need nothing special for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")


class SpecialIds:
    """The ids of SPECIALS, the same in every tokenizer (saved runs rely on them)."""

    pad_id, unk_id, bos_id, eos_id = range(len(SPECIALS))


def condition_token(column: str, value: str) -> str:
    return f"<{column}={value}>"


class SymbolTable(SpecialIds):
    """A list of symbols with their ids: specials, then condition tokens, then ordinary symbols."""

    def _set_symbols(self, symbols: Sequence[str], conditions: Sequence[str] = ()) -> None:
        self.conditions = list(conditions)
        reserved = set(SPECIALS) | set(self.conditions)
        self.symbols = list(SPECIALS) + self.conditions + [s for s in symbols if s not in reserved]
        self.index = {symbol: i for i, symbol in enumerate(self.symbols)}

    @property
    def vocab_size(self) -> int:
        return len(self.symbols)

    def condition_id(self, token: str) -> int | None:
        return self.index.get(token) if token in self.conditions else None

    @property
    def condition_ids(self) -> list[int]:
        return [self.index[token] for token in self.conditions]

    def hidden_ids(self) -> set[int]:
        """Ids that never appear in decoded text."""
        return {self.pad_id, self.bos_id, self.eos_id, *self.condition_ids}

    def to_dict(self) -> dict:
        """What ``tokenizer.json`` holds; each tokenizer says."""
        raise NotImplementedError

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")


def count_words(text: str) -> int:
    """Words as a reader counts them: runs of non-space characters."""
    return len(text.split())


def iter_pieces(texts: Iterable[str], lines: int = 512) -> Iterable[str]:
    """Texts cut after every ``lines`` line ends, for batch encoding and streaming fits."""
    for text in texts:
        parts = text.splitlines(keepends=True)
        for start in range(0, len(parts), lines):
            yield "".join(parts[start : start + lines])
