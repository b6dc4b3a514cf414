"""The ``option()`` field whose help text becomes a ``--flag``, and config <-> dict conversions."""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import field

from recur.config.checks import check
from recur.errors import RecurError


def option(default, help: str, **kwargs):
    """A dataclass field whose help text becomes the CLI's ``--help``."""
    if isinstance(default, (list, dict)):
        return field(
            default_factory=lambda: type(default)(default), metadata={"help": help, **kwargs}
        )
    return field(default=default, metadata={"help": help, **kwargs})


def parse_duration(text: str) -> float:
    """'90', '90s', '3m', '1.5h', '9m59s' -> seconds."""
    parts = re.findall(r"\s*([0-9]*\.?[0-9]+)\s*([smh]?)\s*", str(text))
    if not parts or "".join(f"{v}{u}" for v, u in parts) != re.sub(r"\s", "", str(text)):
        raise ValueError(f"cannot read the duration {text!r}: use a number with s, m or h, like 3m")
    return sum(float(value) * {"s": 1, "m": 60, "h": 3600}[unit or "s"] for value, unit in parts)


def to_dict(config) -> dict:
    return dataclasses.asdict(config)


def from_dict(cls, values: dict):
    """Build ``cls`` from a dict, ignoring keys a newer or older version may add; a value its
    rules refuse (``checks.py``) is a ``UsageError`` naming the flag."""
    if not isinstance(values, dict):
        raise RecurError(f"the {cls.__name__} options must be a JSON object, not {values!r:.40}")
    names = {f.name for f in dataclasses.fields(cls)}
    # a pathlib.Path given from Python is the path it names (configs are saved as JSON)
    config = cls(
        **{
            k: os.fspath(v) if isinstance(v, os.PathLike) else v
            for k, v in values.items()
            if k in names
        }
    )
    check(config)
    return config
