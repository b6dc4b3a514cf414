"""The scaling a run stores (tokenizer.json) and undoes at prediction, and the baselines and
metrics printed beside every score."""

import numpy as np
import pytest

from recur.series.baselines import linear_summary, nearest_neighbour, seasonal_naive
from recur.series.forecast import interval_factor, widen
from recur.series.metrics import classification_scores, mase, regression_scores, smape
from recur.tokenizers import load_tokenizer
from recur.tokenizers.scaler import SeriesScaler


@pytest.mark.parametrize("mode", ["global", "series", "none"])
@pytest.mark.parametrize("transform", ["none", "log"])
def test_scaling_round_trip_through_the_saved_file(tmp_path, mode, transform):
    rng = np.random.default_rng(0)
    series = [rng.uniform(1, 50, size=(n, 2)) for n in (5, 9)]
    targets = rng.normal(3, 2, size=(2, 3))
    scaler = SeriesScaler(mode, transform).fit(series, targets)
    scaler.save(tmp_path / "tokenizer.json")
    loaded = load_tokenizer(tmp_path / "tokenizer.json")
    for values in series:
        stats = loaded.stats(values)
        scaled = loaded.scale(values, stats)
        assert np.allclose(loaded.unscale(scaled, stats), values, rtol=1e-5)
        if mode == "series":
            assert np.allclose(scaled.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(loaded.unscale_targets(loaded.scale_targets(targets)), targets, atol=1e-5)


def test_log_transform_refuses_non_positive_values():
    from recur.errors import RecurError

    with pytest.raises(RecurError, match="positive"):
        SeriesScaler("global", "log").fit([np.array([[1.0], [0.0]])])


def test_nearest_neighbour_and_linear_summary():
    train = [np.zeros((4, 1)), np.ones((6, 1)) * 5]
    assert nearest_neighbour(train, ["low", "high"], [np.ones((3, 1)) * 4]) == ["high"]
    rng = np.random.default_rng(1)
    series = [rng.normal(size=(12, 1)) for _ in range(40)]
    targets = np.array([[2 * s.mean() + s[-1, 0]] for s in series])  # linear in the summaries
    predicted = linear_summary(series, targets, series[:5])
    assert np.allclose(predicted, targets[:5], atol=1e-4)


def test_seasonal_naive_and_mase():
    history = np.arange(24, dtype=float)[:, None] % 12
    assert seasonal_naive(history, 14, 12)[:, 0].tolist() == list(range(12)) + [0, 1]
    truth = np.arange(12, dtype=float)
    assert mase(truth, truth + 2, np.arange(24, dtype=float), 12) == pytest.approx(2 / 12)
    assert smape(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0


def test_classification_and_regression_scores():
    report = classification_scores(["a", "a", "b", "b"], ["a", "b", "b", "b"], ["a", "b"])
    assert report["accuracy"] == 0.75 and report["confusion"] == [[1, 1], [0, 2]]
    assert report["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    true = np.array([[1.0], [2.0], [3.0]])
    assert regression_scores(true, true, ["y"])["r2"] == 1.0
    assert regression_scores(true, np.full_like(true, 2.0), ["y"])["r2"] == pytest.approx(0.0)


def test_interval_factor_makes_80_percent_covered():
    rng = np.random.default_rng(0)
    paths = [rng.normal(0, 3, size=(400, 10, 1)) for _ in range(30)]  # three times too wide
    truths = [rng.normal(0, 1, size=(10, 1)) for _ in range(30)]
    factor = interval_factor(truths, paths)
    assert 0.25 < factor < 0.45
    inside = [
        np.mean(
            (t >= np.quantile(widen(p, factor), 0.1, 0))
            & (t <= np.quantile(widen(p, factor), 0.9, 0))
        )
        for t, p in zip(truths, paths)
    ]
    assert 0.75 < np.mean(inside) < 0.85
