"""Two CPU processes under torchrun (gloo): own streams (or batches) per rank, rank 0 writes,
resume works; for a language model and for a classifier."""

import json
import subprocess
import sys

import torch

import recur
from tests.classify.test_classifier import TINY, topic_rows, write_csv
from tests.conftest import ONE_THREAD, TINY_OPTIONS


def torchrun(*args):
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "recur",
        "train",
        *map(str, args),
    ]
    for name, value in {**TINY_OPTIONS, "batch_size": 2}.items():
        command += ["--" + name.replace("_", "-"), str(value)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, env=ONE_THREAD)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def state(run):
    return json.loads((run / "last" / "trainer_state.json").read_text())


def test_two_ranks_train_and_resume_exactly(corpus_file, tmp_path):
    torchrun(corpus_file, "--steps", 8, "--out", tmp_path / "straight")
    torchrun(corpus_file, "--steps", 8, "--stop-after", 4, "--out", tmp_path / "paused")
    assert state(tmp_path / "paused")["step"] == 4
    torchrun("--resume", tmp_path / "paused")
    straight, resumed = state(tmp_path / "straight"), state(tmp_path / "paused")
    assert straight["world_size"] == 2 and straight["step"] == resumed["step"] == 8
    # Two ranks of two streams each: 4 streams x 16 steps per chunk.
    assert straight["tokens"] == 8 * 4 * 16
    assert straight["last_loss"] == resumed["last_loss"]
    a, b = (recur.load(tmp_path / run / "last").bundle.model for run in ("straight", "paused"))
    for p, q in zip(a.state_dict().values(), b.state_dict().values()):
        assert torch.equal(p, q)
    records = (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()
    assert len([r for r in records if '"train"' in r]) == 8  # only rank 0 logs


def test_two_ranks_train_a_classifier_and_resume_exactly(tmp_path):
    """Rank-sharded batches, DDP, rank 0 validates and writes; --stop-after resumes bit for bit."""
    data = write_csv(tmp_path / "train.csv", topic_rows(60))  # 54 rows: 7 batches of 4 per rank
    options = {**TINY, "batch_size": 4, "epochs": 2, "text_column": "text", "label_column": "label"}
    options.pop("quiet")

    def torchrun_classifier(*args):
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        command += ["--nproc_per_node=2", "-m", "recur", "train", "--quiet", *map(str, args)]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=180, env=ONE_THREAD
        )
        assert result.returncode == 0, result.stderr[-3000:]

    flags = [
        part for name, value in options.items() for part in ("--" + name.replace("_", "-"), value)
    ]
    torchrun_classifier(data, *flags, "--out", tmp_path / "straight")
    torchrun_classifier(data, *flags, "--stop-after", 5, "--out", tmp_path / "paused")
    assert state(tmp_path / "paused")["step"] == 5
    torchrun_classifier("--resume", tmp_path / "paused")
    straight, resumed = state(tmp_path / "straight"), state(tmp_path / "paused")
    assert straight["world_size"] == 2 and straight["step"] == resumed["step"] == 14
    assert straight["last_loss"] == resumed["last_loss"]
    for folder in ("last", "best"):
        a, b = (recur.load(tmp_path / run / folder).bundle.model for run in ("straight", "paused"))
        for p, q in zip(a.state_dict().values(), b.state_dict().values()):
            assert torch.equal(p, q)
    records = (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()
    assert len([r for r in records if '"eval"' in r]) == 2  # rank 0 validates, once per epoch
    assert (tmp_path / "straight" / "report.json").is_file()
