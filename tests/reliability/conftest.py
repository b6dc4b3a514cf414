"""Fixtures of the reliability suite: copies of the saved runs, one tiny trained run, the tally."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import TINY_OPTIONS, tiny_text
from tests.old_runs import old_runs

FIXTURE_RUNS = old_runs()
LONG = os.environ.get("RECUR_RELIABILITY") == "long"  # make reliability: the long kill loops
TALLY = os.environ.get("RECUR_RELIABILITY_TALLY")  # where make reliability collects the counts


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Path:
    """A tiny character run with best/, last/ and checksums (trained once per session)."""
    import recur

    folder = tmp_path_factory.mktemp("trained")
    (folder / "t.txt").write_text(tiny_text(60), encoding="utf-8")
    options = {**TINY_OPTIONS, "hidden_size": 16, "num_layers": 1, "eval_every": "3"}
    recur.train(str(folder / "t.txt"), out=str(folder / "run"), steps=4, quiet=True, **options)
    return folder / "run"


@pytest.fixture
def runs(tmp_path, trained) -> Path:
    """tmp_path holding copies of lm, documents, music, classifier and the trained run."""
    for name in ("lm", "documents", "music", "classifier"):
        shutil.copytree(FIXTURE_RUNS / name, tmp_path / name)
    shutil.copytree(trained, tmp_path / "run")
    return tmp_path


@pytest.fixture(scope="session")
def tally():
    """Counts for docs/reliability.md (cases, fuzz examples, kills survived), kept per session."""
    counts: dict[str, int] = {}
    yield counts
    if TALLY:
        path = Path(TALLY)
        old = json.loads(path.read_text() or "{}") if path.is_file() else {}
        for key, value in counts.items():
            old[key] = old.get(key, 0) + value
        path.write_text(json.dumps(old, indent=2))
