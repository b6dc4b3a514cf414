"""--average-from: the mean of the weights after each step from a point of the plan on is what
validation, samples and best/ see; training and last/ keep the raw weights; resume is exact."""

import json

import torch
from torch import nn

import recur
from recur.runs.logbook import read_metrics
from recur.training.averaging import WeightAverage
from tests.conftest import TINY_OPTIONS


def test_the_mean_starts_at_its_point_and_is_swapped_in_and_out():
    model = nn.Linear(2, 2)
    average = WeightAverage(start=0.5)
    for progress, value in [(0.2, 100.0), (0.5, 1.0), (0.7, 2.0), (1.0, 6.0)]:
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(value)
        average.update(model, progress)
    assert average.count == 3  # the step at progress 0.2 is not in the mean
    with average.applied(model):
        assert all(torch.allclose(p, torch.full_like(p, 3.0)) for p in model.parameters())
    assert all(torch.equal(p, torch.full_like(p, 6.0)) for p in model.parameters())
    off = WeightAverage(start=0.0)
    off.update(model, 1.0)
    assert off.count == 0


def test_best_is_the_average_and_resume_carries_it(corpus_file, tmp_path):
    options = {**TINY_OPTIONS, "steps": 20, "average_from": 0.5, "eval_every": "10"}
    recur.train(corpus_file, out=str(tmp_path / "a"), quiet=True, **options)
    recur.train(corpus_file, out=str(tmp_path / "b"), quiet=True, stop_after=13, **options)
    recur.train(resume=str(tmp_path / "b"), quiet=True)
    weights = {
        (run, name): recur.load(tmp_path / run / name).bundle.model.state_dict()
        for run in ("a", "b")
        for name in ("best", "last")
    }
    state = json.loads((tmp_path / "a" / "last" / "trainer_state.json").read_text())
    assert state["average_count"] == 11  # the weights after steps 10..20 (progress 0.5 on)
    evals = [r for r in read_metrics(tmp_path / "a") if r["kind"] == "eval"]
    assert evals[-1]["best"]  # the averaged weights won the last validation
    best, last = weights["a", "best"], weights["a", "last"]
    assert any(not torch.equal(best[k], last[k]) for k in best)  # best/ holds the mean
    for name in ("best", "last"):
        a, b = weights["a", name], weights["b", name]
        assert all(torch.equal(a[k], b[k]) for k in a)  # exact resume, mean included
