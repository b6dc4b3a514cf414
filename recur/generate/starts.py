"""What generation feeds first: the prime's ids (checked against the vocabulary), a document's
hidden start tokens, the condition tokens after each line end, and the ids never sampled."""

from __future__ import annotations

import torch

from recur.errors import RecurError


def encode_prime(tokenizer, prime: str) -> list[int]:
    unknown = tokenizer.unknown(prime)
    if unknown:
        shown = ", ".join(repr(ch) for ch in unknown[:10])
        raise RecurError(
            f"the prime contains {tokenizer.unit} the model never saw: {shown}; "
            "remove or replace them"
        )
    return tokenizer.encode(prime)


def start_ids(tokenizer, prime: str) -> tuple[list[int], int]:
    """Ids to feed first and how many of them are shown: a prime, else a hidden newline."""
    if prime:
        return encode_prime(tokenizer, prime), 0
    if "\n" in getattr(tokenizer, "index", {}):
        return [tokenizer.index["\n"]], 1
    return [tokenizer.bos_id], 1


def start_rows(tokenizer, prime: str, num_samples: int, starts: list | None) -> tuple[list, int]:
    """The (N, P) ids fed first and how many of them are hidden: a document's start tokens
    (``<bos>`` and condition tokens) when given, then the prime."""
    if starts is None:
        ids, hidden = start_ids(tokenizer, prime)
        return [ids] * num_samples, hidden
    prime_ids = encode_prime(tokenizer, prime) if prime else []
    return [list(row) + prime_ids for row in starts], len(starts[0])


def banned_ids(tokenizer, end_at_eos: bool, device) -> torch.Tensor:
    """Tokens never sampled: pad, unk, bos, condition tokens, and eos unless documents end."""
    banned = {
        tokenizer.pad_id,
        tokenizer.unk_id,
        tokenizer.bos_id,
        *getattr(tokenizer, "condition_ids", ()),
    }  # MIDI has no conditions
    if not end_at_eos:
        banned.add(tokenizer.eos_id)
    return torch.tensor(sorted(banned), device=device)


def mark_lines(row: list, hidden: int, line_end: int) -> list:
    """A prime's line ends are followed by the condition tokens, as in training."""
    marks, marked = row[1:hidden], row[:hidden]
    for token in row[hidden:]:
        marked += [token] + (marks if token == line_end else [])
    return marked
