"""Run-directory integrity: checksums checked before anything is built, pickles refused unread,
old runs without a manifest untouched; and --debug, the one way to see a traceback."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from recur.cli import main
from recur.errors import RecurError
from recur.runs import checkpoint
from recur.runs.integrity import MANIFEST
from tests.reliability.cases import MARKER, hostile_pickle
from tests.reliability.conftest import FIXTURE_RUNS


def test_the_manifest_holds_every_file_checksum(trained):
    best = trained / "best"
    manifest = json.loads((best / MANIFEST).read_text())["files"]
    files = sorted(p.name for p in best.iterdir() if p.name != MANIFEST)
    assert sorted(manifest) == files and "model.safetensors" in files
    for name, entry in manifest.items():
        assert entry["sha256"] == hashlib.sha256((best / name).read_bytes()).hexdigest()
    assert (
        "trainer_state.safetensors"
        in json.loads((trained / "last" / MANIFEST).read_text())["files"]
    )


def test_a_changed_file_is_named_before_anything_is_built(trained, tmp_path, monkeypatch):
    run = shutil.copytree(trained, tmp_path / "run")
    tokenizer = run / "best" / "tokenizer.json"
    tokenizer.write_text(tokenizer.read_text() + " ")  # still valid JSON, the same tokenizer
    built = []
    monkeypatch.setattr(checkpoint, "load_tokenizer", lambda path: built.append(path))
    monkeypatch.setattr(checkpoint, "kind_of", lambda *args: built.append(args))
    with pytest.raises(RecurError, match=r"best/tokenizer.json: changed since the run saved it"):
        checkpoint.load(run)
    assert built == []


@pytest.mark.parametrize(
    "target", ["model.safetensors", "trainer_state.safetensors", "linear.safetensors"]
)
def test_a_pickle_where_weights_belong_is_refused_unread(trained, tmp_path, target):
    source = FIXTURE_RUNS / "classifier" if target == "linear.safetensors" else trained / "last"
    run = shutil.copytree(source, tmp_path / "run")
    (run / MANIFEST).unlink(missing_ok=True)  # no checksum to catch it first: the reader must
    (run / target).write_bytes(hostile_pickle(tmp_path))
    with pytest.raises(RecurError, match="pickle"):
        if target == "trainer_state.safetensors":
            checkpoint.load_trainer_state(run)
        elif target == "linear.safetensors":
            from recur.classify.linear import load_linear

            load_linear(run)
        else:
            checkpoint.load(run)
    assert not (tmp_path / MARKER).exists()


def test_the_hostile_pickle_would_run_if_unpickled(tmp_path):
    """The test above proves something: this pickle does create its file when unpickled."""
    import pickle

    pickle.loads(hostile_pickle(tmp_path))  # noqa: S301 - the point of the test
    assert (tmp_path / MARKER).read_text() == "ran"


def test_old_runs_load_without_a_manifest_and_stay_as_they_were(tmp_path):
    run = shutil.copytree(FIXTURE_RUNS / "lm", tmp_path / "lm")
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    checkpoint.load(run)
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_debug_shows_the_traceback_and_the_default_does_not(tmp_path, capsys, monkeypatch):
    assert main(["generate", str(tmp_path / "none")]) == 1
    assert "Traceback" not in capsys.readouterr().err
    with pytest.raises(RecurError):
        main(["--debug", "generate", str(tmp_path / "none")])
    with pytest.raises(RecurError):
        main(["generate", str(tmp_path / "none"), "--debug"])
    monkeypatch.setenv("RECUR_DEBUG", "1")
    with pytest.raises(RecurError):
        main(["generate", str(tmp_path / "none")])


def test_an_unforeseen_error_is_still_one_line(monkeypatch, capsys):
    from recur import cli

    def broken(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setitem(cli.COMMANDS, "corpora", broken)
    assert main(["corpora"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected ZeroDivisionError" in err and "--debug" in err
