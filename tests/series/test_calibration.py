"""Calibrated forecast intervals: ``calibrate()`` narrows a network whose spread is too wide
(a random walk with known noise), the factors are saved in the run and reloaded, and
``--uncalibrated`` (``SeriesModel.uncalibrated``) sets them aside at prediction."""

import json
import math

import numpy as np
import torch

import recur
from recur.config.options import ModelConfig
from recur.config.series_options import SeriesConfig
from recur.models.series import MIN_SCALE, SeriesNetwork
from recur.series.forecast import model_units, sample_paths, step_scales, widen
from recur.series.read import SeriesSet
from recur.series.report import calibrate, calibration_line, format_report
from recur.tokenizers.scaler import SeriesScaler
from tests.series.test_early_stopping import noisy_series
from tests.series.test_train import TINY

NOISE, TOO_WIDE = 0.5, 3.0  # the walk's step deviation; the network's spread is 3x that


def walk_network(series: SeriesConfig) -> SeriesNetwork:
    """The random walk x[t-1] as the mean, deviation TOO_WIDE x NOISE at every step."""
    network = SeriesNetwork(ModelConfig(cell="gru", hidden_size=4, num_layers=1), series)
    with torch.no_grad():
        network.head.weight.zero_()
        network.head.bias[1] = math.log(math.expm1(TOO_WIDE * NOISE - MIN_SCALE))
    return network.eval()


def walks(count: int, length: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [np.cumsum(rng.normal(0, NOISE, (length, 1)), axis=0) for _ in range(count)]


def test_calibrate_narrows_too_wide_intervals_to_80_percent():
    series = SeriesConfig(
        task="forecast", forecast=6, season=1, lags=[1], channels=["value"], calendar=False
    )
    series.distribution, series.sample_paths = "normal", 400
    network, scaler = walk_network(series), SeriesScaler("none")
    data = SeriesSet(ids=[0, 1, 2, 3], values=walks(4, 80, seed=0), channels=["value"])
    pooled, factors = calibrate(network, data, series, scaler)
    assert 0.25 < pooled < 0.45 and len(factors) == 6  # about 1 / TOO_WIDE
    assert all(0.2 < f < 0.5 for f in factors), factors
    series.interval_scale, series.horizon_scales = pooled, factors
    inside, raw = [], []
    for index, values in enumerate(walks(60, 30, seed=1)):  # fresh walks, never calibrated on
        z, undo = model_units(scaler, values[:24])
        drawn = undo(sample_paths(network, z, 6, series, 400, seed=index))
        for scale, into in ((step_scales(series, 6), inside), (1.0, raw)):
            low, high = np.quantile(widen(drawn, scale), (0.1, 0.9), axis=0)
            into.append(np.mean((values[24:] >= low) & (values[24:] <= high)))
    assert np.mean(raw) > 0.97  # the network's own intervals: far too wide
    assert 0.72 < np.mean(inside) < 0.88, np.mean(inside)


def test_the_factors_are_saved_reloaded_shown_and_can_be_set_aside(tmp_path):
    data = noisy_series(tmp_path / "s.csv", length=96)
    options = dict(forecast=6, season=12, time_column="t", steps=20, sample_paths=40, **TINY)
    recur.train(data, out=str(tmp_path / "f"), **options)
    saved = json.loads((tmp_path / "f" / "best" / "config.json").read_text())["series"]
    assert len(saved["horizon_scales"]) == 6 and saved["interval_scale"] != 1.0
    model = recur.load(str(tmp_path / "f"), device="cpu")
    assert model.series.horizon_scales == saved["horizon_scales"]
    calibrated = model.evaluate(data)
    assert calibrated["calibration"]["horizon_scales"] == saved["horizon_scales"]
    assert "calibrated" in format_report(calibrated, "forecast", "s.csv")
    values = model.read(data).values[0]
    kept = np.quantile(model.forecast(values, 6, 200, seed=3), (0.1, 0.5, 0.9), axis=0)
    own = np.quantile(model.uncalibrated().forecast(values, 6, 200, seed=3), (0.1, 0.5, 0.9), 0)
    assert model.series.horizon_scales == [] and model.series.interval_scale == 1.0
    scales = np.asarray(saved["horizon_scales"])
    width = (kept[2] - kept[0])[:, 0] / (own[2] - own[0])[:, 0]
    assert np.allclose(width, scales, rtol=0.05), (width, scales)  # the same paths, rescaled
    assert np.allclose(kept[1], own[1])  # the median does not move
    shown = calibration_line(model.evaluate(data)["calibration"])
    assert "not calibrated" in shown
    again = json.loads((tmp_path / "f" / "best" / "config.json").read_text())["series"]
    assert again == saved  # setting them aside changes the object, not the run
