"""What a bad-input case is (``Case``, ``usage``, ``data``) and the edits and texts the cases
share; the cases themselves are in cases_options.py, cases_inputs.py and cases_runs.py, and
table.py gathers them into ``CASES``, run against ``recur.cli.main``.

A case is argv with placeholders: {tmp} (the case's own folder), {lm}, {documents}, {music},
{classifier} (copies of the tests/old_runs.py runs), {run} (a copy of a freshly trained tiny run
with best/, last/ and checksums). ``files`` are written under {tmp} first; ``edit`` changes a copied
run before the command. A new command's cases (serve, export, inspect) are one more row each.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

USAGE, DATA = 2, 1
MARKER = "PWNED"  # the file the hostile pickle would create if it were ever run


@dataclass
class Case:
    name: str
    argv: str
    code: int
    fragment: str
    files: dict = field(default_factory=dict)
    edit: Callable[[Path], None] | None = None  # called with {tmp}


def usage(name, argv, fragment, **extra) -> Case:
    return Case(name, argv, USAGE, fragment, **extra)


def data(name, argv, fragment, **extra) -> Case:
    return Case(name, argv, DATA, fragment, **extra)


class Hostile:
    """Unpickling this runs a command that creates {tmp}/PWNED."""

    def __init__(self, target: str):
        self.target = target

    def __reduce__(self):
        return (exec, (f"open({self.target!r}, 'w').write('ran')",))


def hostile_pickle(tmp: Path) -> bytes:
    return pickle.dumps(Hostile(str(tmp / MARKER)))


def _put(relative: str, content) -> Callable[[Path], None]:
    def edit(tmp: Path) -> None:
        path = tmp / relative
        if callable(content):
            path.write_bytes(content(tmp))
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    return edit


def _json_edit(relative: str, change: Callable[[dict], object]) -> Callable[[Path], None]:
    def edit(tmp: Path) -> None:
        path = tmp / relative
        config = json.loads(path.read_text(encoding="utf-8"))
        result = change(config)
        path.write_text(json.dumps(config if result is None else result), encoding="utf-8")

    return edit


def _truncate(relative: str, keep: float) -> Callable[[Path], None]:
    def edit(tmp: Path) -> None:
        path = tmp / relative
        content = path.read_bytes()
        path.write_bytes(content[: int(len(content) * keep)])

    return edit


def _flip_byte(relative: str) -> Callable[[Path], None]:
    def edit(tmp: Path) -> None:
        path = tmp / relative
        content = bytearray(path.read_bytes())
        content[len(content) // 2] ^= 0xFF
        path.write_bytes(bytes(content))

    return edit


def _remove(relative: str) -> Callable[[Path], None]:
    return lambda tmp: (tmp / relative).unlink()


TEXT = "the cat sat on the mat.\n" * 40
CSV = "text,label\n" + "".join(f"{w} is here,{'ab'[i % 2]}\n" for i, w in enumerate(TEXT.split()))
TINY = "--hidden-size 8 --embedding-size 8 --num-layers 1 --steps 2 --threads 1 --samples 0 --quiet"
TRAIN = f"train {{tmp}}/t.txt --out {{tmp}}/out {TINY}"
T = {"t.txt": TEXT}
RESUME = "--steps 6 --threads 1 --samples 0 --quiet"
MIDI_BROKEN = b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x10\x00\x90\x3c"
