"""Crash safety, tested by doing it: kill -9 at random moments of training, a crash at every
step of a checkpoint write, a full disk during a save, and two trainings into one --out.
``make reliability`` (RECUR_RELIABILITY=long) runs the kill loop many more times."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recur.cli import main
from recur.errors import RecurError
from recur.runs import checkpoint, integrity
from recur.runs.lock import acquire
from tests.conftest import ONE_THREAD, TINY_OPTIONS, tiny_text
from tests.reliability.conftest import LONG

KILLS = 20 if LONG else 1
TRAIN = [
    "--hidden-size", "16", "--embedding-size", "8", "--num-layers", "1", "--batch-size", "4",
    "--seq-length", "16", "--eval-every", "2", "--log-every", "1", "--samples", "0",
    "--threads", "1", "--quiet", "--max-val-tokens", "64",
]  # fmt: skip


def recur_process(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "recur", *map(str, args)],
        env={**ONE_THREAD, "PYTHONPATH": str(Path(__file__).parents[2])},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def saved_step(run: Path) -> int:
    return json.loads((checkpoint.resolve(run / "last") / "trainer_state.json").read_text())["step"]


def train_records(run: Path) -> list[dict]:
    records = []
    for line in (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            pass  # a line the kill cut short
    return [r for r in records if r.get("kind") == "train"]


def kill_and_resume(folder: Path, seed: int) -> str:
    """Start a run, kill -9 it at a random moment, check it loads and resumes from last/."""
    run, rng = folder / f"run{seed}", random.Random(seed)
    started = recur_process("train", folder / "t.txt", "--out", run, "--steps", 400, *TRAIN)
    deadline = time.monotonic() + 60
    while not (run / "last").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # at least one checkpoint, then a random moment later
    time.sleep(rng.uniform(0.0, 1.5))
    os.kill(started.pid, signal.SIGKILL)
    started.communicate(timeout=60)
    assert checkpoint.load(run).model is not None  # loads, whatever the moment was
    step = saved_step(run)
    before = len(train_records(run))
    resumed = recur_process("train", "--resume", run, "--steps", step + 3, "--quiet")
    out, err = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, err[-2000:]
    after = train_records(run)[before:]
    assert [r["step"] for r in after] == [step + 1, step + 2, step + 3], after
    assert saved_step(run) == step + 3
    return f"killed at step {step}"


def test_kill_9_during_training_always_loads_and_resumes(tmp_path, tally):
    (tmp_path / "t.txt").write_text(tiny_text(400), encoding="utf-8")
    for seed in range(KILLS):
        kill_and_resume(tmp_path, seed)
        tally["kills survived"] = tally.get("kills survived", 0) + 1


class Crash(BaseException):
    """What kill -9 leaves: nothing after this point runs, no handler cleans up."""


def small_model():
    import torch

    from recur.config.options import ModelConfig, to_dict
    from recur.models.language_model import build_model
    from recur.tokenizers import CharTokenizer

    torch.manual_seed(0)
    tokenizer = CharTokenizer().fit(["hello world"])
    config = ModelConfig(vocab_size=tokenizer.vocab_size, hidden_size=8, embedding_size=8)
    return build_model(config), tokenizer, {"model": to_dict(config)}


def state(step: int) -> dict:
    import torch

    return {"json": {"step": step}, "tensors": {"x": torch.zeros(2)}}


WRITES = ["mkdir", "config", "weights", "manifest", "first rename", "second rename", "cleanup"]


@pytest.mark.parametrize("moment", WRITES)
def test_crash_at_every_moment_of_a_checkpoint_write(tmp_path, monkeypatch, moment, tally):
    model, tokenizer, config = small_model()
    checkpoint.save(tmp_path / "last", model, tokenizer, config, state(1))
    calls = {"rename": 0}

    def crash_if(name):
        if name == moment:
            raise Crash

    real_replace, real_write = os.replace, checkpoint._write_files

    def replace(source, target):
        if Path(target).name == "last" or Path(source).name == "last":
            calls["rename"] += 1
            crash_if(["first rename", "second rename"][calls["rename"] - 1])
        return real_replace(source, target)

    def write_files(temporary, *args):
        crash_if("config")
        real_write(temporary, *args)
        crash_if("weights")

    monkeypatch.setattr(checkpoint.os, "replace", replace)
    monkeypatch.setattr(checkpoint, "_write_files", write_files)
    monkeypatch.setattr(
        checkpoint, "write_manifest", lambda d: (crash_if("manifest"), integrity.write_manifest(d))
    )
    monkeypatch.setattr(checkpoint, "fsync_path", lambda p: crash_if("cleanup"))
    monkeypatch.setattr(checkpoint.Path, "mkdir", _crashing_mkdir(crash_if, checkpoint.Path.mkdir))
    with pytest.raises(Crash):
        checkpoint.save(tmp_path / "last", model, tokenizer, config, state(2))
    monkeypatch.undo()
    loaded = json.loads((checkpoint.resolve(tmp_path) / "trainer_state.json").read_text())
    assert loaded["step"] in (1, 2)  # the old checkpoint or the new one, whole
    checkpoint.recover(tmp_path)  # what a resume does first, under the lock
    assert saved_step(tmp_path) == loaded["step"]
    assert [p.name for p in tmp_path.iterdir()] == ["last"]  # no leftovers
    checkpoint.load(tmp_path)
    tally["checkpoint-write crashes survived"] = (
        tally.get("checkpoint-write crashes survived", 0) + 1
    )


def _crashing_mkdir(crash_if, real):
    def mkdir(self, *args, **kwargs):
        if ".tmp-" in self.name:
            crash_if("mkdir")
        return real(self, *args, **kwargs)

    return mkdir


def test_full_disk_during_a_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model, tokenizer, config = small_model()
    checkpoint.save(tmp_path / "last", model, tokenizer, config, state(1))
    before = {p.name: p.read_bytes() for p in (tmp_path / "last").iterdir()}

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checkpoint, "save_model", full)
    with pytest.raises(
        RecurError, match="No space left on device.*previous checkpoint there is intact"
    ):
        checkpoint.save(tmp_path / "last", model, tokenizer, config, state(2))
    assert {p.name: p.read_bytes() for p in (tmp_path / "last").iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["last"]  # the temporary is gone
    checkpoint.load(tmp_path)


def test_full_disk_during_training_says_so_and_the_run_resumes(tmp_path, monkeypatch, capsys):
    (tmp_path / "t.txt").write_text(tiny_text(200), encoding="utf-8")
    run, saves = tmp_path / "run", {"count": 0}
    real = checkpoint.save_model

    def fill_up(*args, **kwargs):
        saves["count"] += 1
        if saves["count"] >= 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(*args, **kwargs)

    monkeypatch.setattr(checkpoint, "save_model", fill_up)
    code = main(["train", str(tmp_path / "t.txt"), "--out", str(run), "--steps", "12", *TRAIN])
    err = capsys.readouterr().err
    assert code == 1 and "No space left on device" in err and "intact" in err, err
    assert "Traceback" not in err
    monkeypatch.undo()
    step = saved_step(run)
    assert main(["train", "--resume", str(run), "--steps", "12", "--quiet"]) == 0
    assert step < saved_step(run) == 12


def test_a_second_training_into_the_same_out_is_refused_and_told_who_holds_it(tmp_path):
    (tmp_path / "t.txt").write_text(tiny_text(100), encoding="utf-8")
    run = tmp_path / "run"
    lock = acquire(run)  # this process is "the first training"
    second = recur_process("train", tmp_path / "t.txt", "--out", run, "--steps", 2, *TRAIN)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 1 and "Traceback" not in err
    assert f"another training is writing there (process {os.getpid()}" in err, err
    assert not (run / "last").exists()
    assert not acquire_failed_leaves_litter(tmp_path)
    with pytest.raises(RecurError, match=str(os.getpid())):
        acquire(run)
    lock.release()
    assert not (run / ".lock").exists()


def test_a_stale_lock_from_a_dead_process_is_taken_over(tmp_path):
    import recur

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").write_text(json.dumps({"pid": int(dead.stdout), "host": "here"}))
    (tmp_path / "t.txt").write_text(tiny_text(100), encoding="utf-8")
    options = {**TINY_OPTIONS, "hidden_size": 8, "num_layers": 1}
    recur.train(str(tmp_path / "t.txt"), out=str(run), steps=2, quiet=True, **options)
    assert (run / "last").is_dir() and not (run / ".lock").exists()


def test_a_metrics_line_cut_short_by_a_kill_is_mended_and_skipped(tmp_path):
    from recur.runs.logbook import Logbook, read_metrics

    (tmp_path / "metrics.jsonl").write_text('{"kind": "train", "step": 1}\n{"kind": "tr')
    Logbook(tmp_path, quiet=True).write({"kind": "train", "step": 2})
    assert [r["step"] for r in read_metrics(tmp_path)] == [1, 2]


def acquire_failed_leaves_litter(folder) -> bool:
    """A training that fails before writing anything leaves no folder behind."""
    lock = acquire(folder / "new")
    lock.release()
    return (folder / "new").exists()
