"""Conditions at generation time: ``genre=country`` -> the start tokens of a conditional document.

A conditional model was trained on documents framed ``<bos> <genre=country> ... <eos>``; a sample
starts the same way. Columns the user leaves out are drawn from the training counts, so the model
always sees a start it was trained on. ``contrast_rows`` gives the same starts under every other
value of the chosen columns, for guided sampling (``--guidance``).
"""

from __future__ import annotations

import torch

from recur.errors import RecurError, UsageError
from recur.tokenizers import condition_token


def describe(values: dict) -> str:
    return ", ".join(f"{value} ({count})" for value, count in values.items())


def parse_condition(text: str | None, counts: dict) -> dict:
    """``"genre=country,artist=x"`` -> {column: value}, checked against the run's conditions."""
    chosen = {}
    for part in [p for p in (text or "").split(",") if p.strip()]:
        if "=" not in part:
            raise UsageError(f"--condition {part!r}: write it as COLUMN=VALUE")
        column, value = (s.strip() for s in part.split("=", 1))
        if not counts:
            raise RecurError("this run has no conditions (train with --condition-column)")
        if column not in counts:
            listed = "; ".join(f"{c}: {describe(v)}" for c, v in counts.items())
            raise RecurError(f"unknown condition column {column!r}; the run has {listed}")
        values = counts[column]
        if value not in values:
            folded = [v for v in values if v.lower() == value.lower()]
            if len(folded) != 1:
                raise RecurError(f"unknown {column} {value!r}; valid values: {describe(values)}")
            value = folded[0]
        chosen[column] = value
    return chosen


def start_rows(
    tokenizer, counts: dict, chosen: dict, num_samples: int, generator: torch.Generator
) -> tuple[list[list[int]], list[dict]]:
    """Per sample: ``[<bos>, <column=value>...]`` and the condition values it uses."""
    rows, used = [], []
    for _ in range(num_samples):
        values = {}
        for column, options in counts.items():
            if column in chosen:
                values[column] = chosen[column]
                continue
            weights = torch.tensor(list(options.values()), dtype=torch.float)
            pick = int(torch.multinomial(weights, 1, generator=generator))
            values[column] = list(options)[pick]
        rows.append(
            [tokenizer.bos_id]
            + [tokenizer.condition_id(condition_token(c, v)) for c, v in values.items()]
        )
        used.append(values)
    return rows, used


MAX_CONTRASTS = 16


def contrast_rows(rows: list[list[int]], tokenizer, counts: dict, chosen: dict) -> list[list[int]]:
    """For guidance: ``rows`` again under each other value of every chosen column, one block of
    len(rows) rows per (column, other value), in that order."""
    if not chosen:
        raise RecurError(
            "--guidance needs --condition COLUMN=VALUE (it steers towards that value "
            "and away from the column's other values)"
        )
    columns = list(counts)
    blocks = []
    for column, value in chosen.items():
        position = 1 + columns.index(column)  # row = [<bos>, one token per column]
        for other in counts[column]:
            if other != value:
                token = tokenizer.condition_id(condition_token(column, other))
                blocks.append([row[:position] + [token] + row[position + 1 :] for row in rows])
    if not blocks or len(blocks) > MAX_CONTRASTS:
        raise RecurError(
            f"--guidance compares with every other value of the chosen columns: "
            f"{len(blocks)} here; it needs 1 to {MAX_CONTRASTS}"
        )
    return [row for block in blocks for row in block]
