"""Conditional models: the same text's surprise under each condition value, and the words each
value makes most expected (which words make a song "country")."""

from __future__ import annotations

import re

import numpy as np
import torch

from recur.config.inspect_options import InspectConfig
from recur.data.streams import line_end_id
from recur.generate.starts import mark_lines
from recur.inspect.features import token_spans
from recur.tokenizers.base import condition_token

WORD = re.compile(r"\S+")


def condition_effects(bundle, text: str, config: InspectConfig) -> list[dict]:
    """Per column and value: mean bits per token of ``text`` and the words whose surprise falls
    most against the mean of the column's other values; [] for a model without conditions."""
    data = bundle.config.get("data", {})
    counts = data.get("conditions", {}) or {}
    if not counts or not getattr(bundle.model, "conditioned", False):
        return []
    tokenizer = bundle.tokenizer
    ids = [int(i) for i in tokenizer.encode_array(text)]
    common = {column: max(values, key=values.get) for column, values in counts.items()}
    line_end = line_end_id(tokenizer) if data.get("condition_every_line") else None
    results = []
    for column, values in counts.items():
        bits = {}
        for value in values:
            chosen = {**common, column: value}
            starts = [tokenizer.bos_id] + [
                tokenizer.condition_id(condition_token(c, v)) for c, v in chosen.items()
            ]
            bits[value] = token_bits(bundle.model, starts, ids, line_end)
        for value in values:
            others = [bits[v] for v in values if v != value]
            change = bits[value] - (np.mean(others, axis=0) if others else bits[value])
            results.append(
                {
                    "column": column,
                    "value": value,
                    "mean_surprise": round(float(bits[value].mean()), 4),
                    "words": helped_words(tokenizer, text, ids, change, config.top_units * 2),
                }
            )
    return results


def token_bits(model, starts: list[int], ids: list[int], line_end: int | None) -> np.ndarray:
    """Bits of each id of ``ids`` read after ``starts`` (condition tokens repeated after line
    ends when the model was trained so; those repeats are not scored)."""
    row = mark_lines(starts + ids, len(starts), line_end) if line_end is not None else starts + ids
    scored = np.zeros(len(row), dtype=bool)
    position = len(starts)
    for index in range(len(starts), len(row)):
        if position < len(ids) and row[index] == ids[position]:
            scored[index], position = True, position + 1
    sequence = torch.tensor(row, device=next(model.parameters()).device)
    with torch.no_grad():
        logits, _ = model(sequence[None, :-1])
        log_p = torch.log_softmax(logits[0].float(), -1).gather(1, sequence[1:, None])[:, 0]
    return (-log_p.cpu().numpy() / np.log(2))[scored[1:]][: len(ids)]


def helped_words(tokenizer, text: str, ids: list[int], change: np.ndarray, count: int) -> list:
    """Whitespace words of ``text`` with the largest total fall in bits (most negative change)."""
    spans = token_spans(tokenizer, text, ids)[: len(change)]
    totals: dict[str, float] = {}
    starts = np.array([start for start, _ in spans])
    for match in WORD.finditer(text):
        inside = (starts >= match.start()) & (starts < match.end())
        if inside.any():
            word = match.group().strip(".,;:!?\"'()").lower() or match.group()
            totals[word] = totals.get(word, 0.0) + float(change[inside].sum())
    ranked = sorted(totals.items(), key=lambda item: item[1])[:count]
    return [{"word": word, "change": round(value, 3)} for word, value in ranked]
