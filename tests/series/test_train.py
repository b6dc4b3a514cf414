"""Numeric-sequence runs end to end on tiny synthetic data: classify, regress, forecast, predict,
evaluate, anomalies, exact resume, and the network's padding and starting forecast."""

import csv
import json

import numpy as np
import pytest
import torch

import recur
from recur.cli import main
from recur.config.options import ModelConfig
from recur.config.series_options import SeriesConfig
from recur.models.series import build_series_model

TINY = dict(hidden_size=16, batch_size=8, threads=1, quiet=True, warmup_steps=2)


def rising_falling(path, count=40, seed=0):
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label"] + [f"v{j}" for j in range(10)])
        for index in range(count):
            label = "rise" if index % 2 else "fall"
            slope = 1 if label == "rise" else -1
            length = int(rng.integers(6, 11))  # variable lengths: empty cells at the end
            row = slope * np.linspace(0, 1, length) + rng.normal(0, 0.1, length)
            writer.writerow([label] + [f"{v:.4f}" for v in row] + [""] * (10 - length))
    return str(path)


def seasonal_series(path, length=96, spike=None):
    t = np.arange(length)
    values = 10 + np.sin(2 * np.pi * t / 12) + 0.02 * t
    if spike is not None:
        values[spike] += 5
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["t", "value"])
        writer.writerows([[i, f"{v:.5f}"] for i, v in zip(t, values)])
    return str(path)


def test_classify_predict_and_evaluate(tmp_path):
    data = rising_falling(tmp_path / "train.csv")
    model = recur.train(data, target="label", epochs=6, out=str(tmp_path / "run"), **TINY)
    assert model.task == "classify" and model.series.class_names == ["fall", "rise"]
    report = model.evaluate(rising_falling(tmp_path / "test.csv", seed=1))
    assert report["accuracy"] >= 0.9 and "nearest_neighbour" in report["baselines"]
    summary = model.predict_file(data, tmp_path / "out.csv")
    rows = list(csv.DictReader(open(tmp_path / "out.csv")))
    assert summary["rows"] == 40 and set(rows[0]) == {"id", "predicted", "p_fall", "p_rise"}
    assert json.loads((tmp_path / "run" / "best" / "config.json").read_text())["kind"] == "series"


def test_regress_parabola_coefficients(tmp_path):
    from recur.data.parabolas import parabolas

    rows = parabolas(count=240, points=12)
    path = tmp_path / "p.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    model = recur.train(str(path), target="a,b,c", epochs=8, out=str(tmp_path / "r"), **TINY)
    assert model.task == "regress" and model.series.targets == ["a", "b", "c"]
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["r2"] > 0.5 and "linear_summary" in report["baselines"]
    predicted = model.predict(model.read(path))
    assert predicted.shape == (240, 3) and np.abs(predicted).max() < 5  # targets' units


def test_forecast_quantiles_evaluate_and_anomalies(tmp_path):
    data = seasonal_series(tmp_path / "s.csv")
    options = dict(forecast=6, season=12, time_column="t", steps=20, sample_paths=40, **TINY)
    model = recur.train(data, out=str(tmp_path / "f"), **options)
    assert model.task == "forecast" and model.series.interval_scale != 1.0  # calibrated
    model.predict_file(data, tmp_path / "fc.csv", plot=tmp_path / "fc.png")
    rows = list(csv.DictReader(open(tmp_path / "fc.csv")))
    assert [int(r["step"]) for r in rows] == list(range(96, 102))
    assert all(float(r["p10"]) <= float(r["p50"]) <= float(r["p90"]) for r in rows)
    assert (tmp_path / "fc.png").stat().st_size > 0
    report = model.evaluate(data)
    assert report["mase"] > 0 and set(report["baselines"]) == {
        "seasonal_naive",
        "exponential_smoothing",
    }
    spiked = seasonal_series(tmp_path / "spike.csv", spike=70)
    model.predict_file(spiked, tmp_path / "an.csv", anomalies=True)
    scores = {int(r["step"]): float(r["score"]) for r in csv.DictReader(open(tmp_path / "an.csv"))}
    assert max(scores, key=scores.get) in (70, 71)


def test_classify_resume_is_exact(tmp_path):
    data = rising_falling(tmp_path / "train.csv")
    options = dict(target="label", epochs=4, **TINY)
    recur.train(data, out=str(tmp_path / "a"), **options)
    recur.train(data, out=str(tmp_path / "b"), stop_after=7, **options)
    recur.train(resume=str(tmp_path / "b"), quiet=True, threads=1)
    for folder in ("last", "best"):
        a = recur.load(tmp_path / "a" / folder).model.state_dict()
        b = recur.load(tmp_path / "b" / folder).model.state_dict()
        assert all(torch.equal(a[name], b[name]) for name in a)


def test_forecast_resume_is_exact(tmp_path):
    data = seasonal_series(tmp_path / "s.csv", length=60)
    options = dict(forecast=4, season=12, time_column="t", steps=12, val_fraction=0.0, **TINY)
    recur.train(data, out=str(tmp_path / "a"), **options)
    recur.train(data, out=str(tmp_path / "b"), stop_after=5, **options)  # mid-epoch
    recur.train(resume=str(tmp_path / "b"), quiet=True, threads=1)
    a = recur.load(tmp_path / "a" / "last").model.state_dict()
    b = recur.load(tmp_path / "b" / "last").model.state_dict()
    assert all(torch.equal(a[name], b[name]) for name in a)


def test_padding_never_reaches_the_summary():
    series = SeriesConfig(task="classify", channels=["v"], class_names=["a", "b"], frame=1)
    model = build_series_model(ModelConfig(hidden_size=8, num_layers=1), series).eval()
    short, long = torch.randn(1, 5, 2), torch.randn(1, 9, 2)
    alone = model(short, torch.tensor([5]))
    padded = torch.cat([torch.nn.functional.pad(short, (0, 0, 0, 4)), long])
    together = model(padded, torch.tensor([5, 9]))
    assert torch.allclose(alone[0], together[0], atol=1e-6)


def test_a_fresh_forecaster_starts_as_the_seasonal_walk():
    series = SeriesConfig(task="forecast", channels=["v"], forecast=3, season=4, lags=[1, 4, 5])
    model = build_series_model(ModelConfig(hidden_size=8, num_layers=1), series).eval()
    x = torch.randn(2, 7, 5)  # lags 1, 4, 5, then sin and cos of the season
    params, _ = model(x)
    assert torch.allclose(params[..., 0, 0], x[..., 0] + x[..., 1] - x[..., 2], atol=1e-6)


def test_cli_train_predict_evaluate_and_help(tmp_path, capsys):
    data = rising_falling(tmp_path / "train.csv")
    run = str(tmp_path / "run")
    flags = ["--epochs", "2", "--hidden-size", "8", "--threads", "1", "--quiet"]
    assert main(["train", data, "--target", "label", "--out", run, *flags]) == 0
    assert main(["predict", run, data, "--out", str(tmp_path / "p.csv")]) == 0
    assert main(["evaluate", run, data]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "1-NN (Euclidean)" in out
    assert main(["predict", run, data, "--out", str(tmp_path / "x.csv"), "--anomalies"]) == 2
    assert "--anomalies needs a forecasting run" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--forecast", "3", "--help"])
    assert "(default: 16)" in capsys.readouterr().out  # the forecast preset's width
