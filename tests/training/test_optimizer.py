"""--optimizer: plain SGD beside the default AdamW."""

import json

import torch

import recur
from recur.runs.logbook import read_metrics
from tests.conftest import TINY_OPTIONS


def train_tiny(corpus_file, out, **extra):
    return recur.train(corpus_file, out=str(out), quiet=True, **{**TINY_OPTIONS, **extra})


def train_and_resume(corpus_file, tmp_path, **options) -> dict:
    """Train 30 steps whole (run a) and in two parts, stopped after 13 and resumed (run b):
    the loss falls, and b ends bit for bit where a ends. Returns b's trainer state."""
    train_tiny(corpus_file, tmp_path / "a", steps=30, **options)
    train_tiny(corpus_file, tmp_path / "b", steps=30, stop_after=13, **options)
    recur.train(resume=str(tmp_path / "b"), quiet=True)
    losses = [r["loss"] for r in read_metrics(tmp_path / "a") if r["kind"] == "train"]
    assert losses[-1] < losses[0] - 0.3
    states = [
        json.loads((tmp_path / run / "last" / "trainer_state.json").read_text())
        for run in ("a", "b")
    ]
    assert states[0]["last_loss"] == states[1]["last_loss"]
    a, b = (recur.load(tmp_path / run / "last") for run in ("a", "b"))
    for p, q in zip(a.bundle.model.state_dict().values(), b.bundle.model.state_dict().values()):
        assert torch.equal(p, q)
    return states[1]


def test_sgd_trains_and_resumes_exactly(corpus_file, tmp_path):
    """--optimizer sgd (pytorch/examples' word-model recipe): it learns at its own rate, the run
    records it, and a resume rebuilds SGD, not AdamW, and continues bit for bit."""
    options = dict(optimizer="sgd", lr=2.0, weight_decay=0.0, grad_clip=0.25)
    state = train_and_resume(corpus_file, tmp_path, **options)
    groups = state["optimizer"]["param_groups"]
    assert all("momentum" in group and "betas" not in group for group in groups)
    config = json.loads((tmp_path / "b" / "last" / "config.json").read_text())
    assert config["train"]["optimizer"] == "sgd"
