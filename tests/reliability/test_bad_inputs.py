"""Every bad input in table.py ends in one clear line and the promised exit code, with no
traceback, and leaves the run directories it read unchanged."""

from __future__ import annotations

import hashlib
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from recur.cli import main
from tests.conftest import ONE_THREAD
from tests.reliability.cases import MARKER, Case
from tests.reliability.conftest import LONG
from tests.reliability.table import CASES

RUN_NAMES = ("lm", "documents", "music", "classifier", "run")


def fingerprint(folder: Path) -> dict:
    """Every file under the run folders -> its hash (hidden lock files aside)."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for name in RUN_NAMES
        for path in sorted((folder / name).rglob("*"))
        if path.is_file() and path.name != ".lock"
    }


def prepare(case: Case, folder: Path) -> list[str]:
    for name, content in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    if case.edit:
        case.edit(folder)
    places = {name: str(folder / name) for name in RUN_NAMES}
    return shlex.split(case.argv.format(tmp=folder, **places))


def run_in_process(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's usage errors
        code = stop.code if isinstance(stop.code, int) else 1
    return code, capsys.readouterr().err


def check(case: Case, code: int, err: str, folder: Path) -> None:
    assert "Traceback" not in err, err
    assert code == case.code, f"exit {code}, wanted {case.code}: {err}"
    assert case.fragment.lower() in err.lower(), err
    assert "unexpected" not in err, err  # the safety net caught it: a case to fix at its source
    lines = [line for line in err.splitlines() if line.startswith(("error", "usage error"))]
    assert len(lines) == 1, err  # one line says it
    assert not (folder / MARKER).exists(), "a pickle in the run directory was executed"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input(case, runs, capsys, tally):
    argv = prepare(case, runs)
    before = fingerprint(runs)
    code, err = run_in_process(argv, capsys)
    check(case, code, err, runs)
    if not case.argv.startswith("train"):
        assert fingerprint(runs) == before, "a command that reads a run changed it"
    tally["cases"] = tally.get("cases", 0) + 1


# Each costs a process start (seconds under load): two in make test, more in make reliability.
SUBPROCESS = ["weights are a pickle", "no command"] + (
    ["config missing model", "train latin-1 file", "evaluate binary file"] if LONG else []
)


@pytest.mark.parametrize("name", SUBPROCESS)
def test_no_traceback_reaches_stderr(name, runs):
    """The same cases through a real process: stderr holds one line and nothing else."""
    case = next(case for case in CASES if case.name == name)
    argv = prepare(case, runs)
    result = subprocess.run(
        [sys.executable, "-m", "recur", *argv],
        capture_output=True,
        text=True,
        env=ONE_THREAD,
        timeout=120,
    )
    check(case, result.returncode, result.stderr, runs)
