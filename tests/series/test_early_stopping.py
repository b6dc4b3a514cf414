"""A forecaster's early stopping (--forecast-patience: it stops, best/ keeps the best weights,
resume is exact) and its calibrated intervals (one factor per step ahead)."""

import json

import numpy as np
import torch

import recur
from recur.config.series_options import SeriesConfig
from recur.series.forecast import horizon_factors, interval_factor, step_scales, widen
from tests.series.test_train import TINY

# Validation every 5 steps, stopping after 2 without a better CRPS, on a plan of 200 steps: a
# short noisy series and a high learning rate overfit within a few dozen steps.
STOPPING = dict(
    forecast=6,
    season=12,
    time_column="t",
    steps=200,
    eval_every="5",
    forecast_patience=2,
    sample_paths=20,
    calibrate=False,
    **{**TINY, "lr": 0.02},
)


def noisy_series(path, length=60):
    rng = np.random.default_rng(0)
    t = np.arange(length)
    values = 10 + np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.7, length)
    path.write_text("t,value\n" + "".join(f"{i},{v:.5f}\n" for i, v in zip(t, values)))
    return str(path)


def weights(folder):
    return recur.load(folder, device="cpu").model.state_dict()


def same(a, b):
    return all(torch.equal(a[name], b[name]) for name in a)


def evaluations(run):
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["kind"] == "eval"]


def state(run):
    return json.loads((run / "last" / "trainer_state.json").read_text())


def test_a_forecaster_stops_early_and_keeps_its_best_weights(tmp_path, capsys):
    data = noisy_series(tmp_path / "s.csv")
    recur.train(data, out=str(tmp_path / "a"), **STOPPING)
    stopped = state(tmp_path / "a")
    assert stopped["stopped_early"] and stopped["step"] < 200
    evals = evaluations(tmp_path / "a")
    best = max(e["step"] for e in evals if e["best"])
    # the last two validations were no better, and stopping came right after them
    assert [e["best"] for e in evals[-2:]] == [False, False] and evals[-1]["step"] == best + 10
    assert stopped["series_best_step"] == best
    # best/ holds the weights of the best validation's step: the same run paused there
    recur.train(data, out=str(tmp_path / "b"), stop_after=best, **STOPPING)
    assert same(weights(tmp_path / "a" / "best"), weights(tmp_path / "b" / "last"))
    assert not same(weights(tmp_path / "a" / "best"), weights(tmp_path / "a" / "last"))


def test_early_stopping_resumes_exactly(tmp_path):
    data = noisy_series(tmp_path / "s.csv")
    recur.train(data, out=str(tmp_path / "a"), **STOPPING)
    stop = state(tmp_path / "a")["step"]
    # paused after one validation without a better CRPS: the count must survive the resume
    recur.train(data, out=str(tmp_path / "b"), stop_after=stop - 5, **STOPPING)
    assert state(tmp_path / "b")["series_stale"] == 1
    recur.train(resume=str(tmp_path / "b"), quiet=True, threads=1)
    assert state(tmp_path / "b")["step"] == stop and state(tmp_path / "b")["stopped_early"]
    for folder in ("best", "last"):
        assert same(weights(tmp_path / "a" / folder), weights(tmp_path / "b" / folder))
    untimed = [
        [{k: v for k, v in e.items() if k != "time"} for e in evaluations(tmp_path / r)]
        for r in ("a", "b")
    ]
    assert untimed[0] == untimed[1]


def test_per_step_factors_cover_80_percent_where_one_factor_cannot():
    rng = np.random.default_rng(0)
    horizon, origins = 8, 200
    spread = np.linspace(0.8, 2.8, horizon)[:, None]  # errors grow with the step ahead
    paths = [rng.normal(0, 1, size=(300, horizon, 1)) for _ in range(origins)]
    truths = [rng.normal(0, spread) for _ in range(origins)]
    factors = horizon_factors(truths, paths)
    fresh = [rng.normal(0, spread) for _ in range(origins)]

    def covered(scale):
        inside = []
        for truth, drawn in zip(fresh, paths):
            low, high = np.quantile(widen(drawn, scale), (0.1, 0.9), axis=0)
            inside.append(((truth >= low) & (truth <= high))[:, 0])
        return np.mean(inside, axis=0)  # (H,) per step ahead

    per_step = covered(np.asarray(factors))
    assert np.all((per_step > 0.68) & (per_step < 0.92)), per_step
    pooled = covered(interval_factor(truths, paths))
    assert pooled[0] > 0.95 and pooled[-1] < 0.65  # one factor: too wide early, too narrow late
    assert factors[0] < factors[-1]


def test_step_scales_extend_past_the_horizon_and_older_runs_keep_one_factor():
    series = SeriesConfig(interval_scale=1.5)
    assert step_scales(series, 4) == 1.5
    series.horizon_scales = [0.5, 0.8, 1.1]
    assert list(step_scales(series, 5)) == [0.5, 0.8, 1.1, 1.1, 1.1]
    assert list(step_scales(series, 2)) == [0.5, 0.8]
