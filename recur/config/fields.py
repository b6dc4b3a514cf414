"""The ``option()`` field whose help text becomes a ``--flag``, and config <-> dict conversions."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import field


def option(default, help: str, **kwargs):
    """A dataclass field whose help text becomes the CLI's ``--help``."""
    if isinstance(default, (list, dict)):
        return field(
            default_factory=lambda: type(default)(default), metadata={"help": help, **kwargs}
        )
    return field(default=default, metadata={"help": help, **kwargs})


def parse_duration(text: str) -> float:
    """'90', '90s', '3m', '1.5h' -> seconds."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([smh]?)\s*", str(text))
    if not match:
        raise ValueError(f"cannot read the duration {text!r}: use a number with s, m or h, like 3m")
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"s": 1, "m": 60, "h": 3600}[unit]


def to_dict(config) -> dict:
    return dataclasses.asdict(config)


def from_dict(cls, values: dict):
    """Build ``cls`` from a dict, ignoring keys a newer or older version may add."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})
