"""The baselines printed beside every numeric-sequence score: 1-nearest-neighbour (Euclidean)
for classification, linear regression on summary features for regression, and the seasonal
naive forecast and exponential smoothing (statsmodels) for forecasting."""

from __future__ import annotations

import warnings

import numpy as np

from recur.extras import require


def resample(values: np.ndarray, length: int) -> np.ndarray:
    """(T, C) -> (length, C) by linear interpolation: sequences of any length compare."""
    if len(values) == length:
        return values
    old = np.linspace(0, 1, len(values))
    new = np.linspace(0, 1, length)
    return np.stack([np.interp(new, old, values[:, c]) for c in range(values.shape[1])], axis=1)


def nearest_neighbour(train: list, labels: list, test: list) -> list:
    """The label of each test sequence's nearest training sequence (Euclidean distance, after
    resampling all of them to the longest length)."""
    length = max(len(v) for v in train + test)
    a = np.stack([resample(v, length).ravel() for v in train])
    b = np.stack([resample(v, length).ravel() for v in test])
    distances = (b**2).sum(1)[:, None] - 2 * b @ a.T + (a**2).sum(1)[None, :]
    return [labels[i] for i in distances.argmin(axis=1)]


def summary_features(values: np.ndarray) -> np.ndarray:
    """Per channel: mean, deviation, minimum, maximum, first, last and the least-squares slope."""
    steps = np.arange(len(values)) - (len(values) - 1) / 2
    slope = (steps[:, None] * values).sum(0) / max((steps**2).sum(), 1e-12)
    parts = [values.mean(0), values.std(0), values.min(0), values.max(0), values[0], values[-1]]
    return np.concatenate(parts + [slope])


def linear_summary(train: list, targets: np.ndarray, test: list) -> np.ndarray:
    """Least-squares linear regression of the targets on the summary features (with a small
    ridge, so constant features do no harm)."""
    x = np.stack([np.append(summary_features(v), 1.0) for v in train])
    ridge = 1e-6 * np.eye(x.shape[1])
    weights = np.linalg.solve(x.T @ x + ridge, x.T @ np.asarray(targets, np.float64))
    return np.stack([np.append(summary_features(v), 1.0) for v in test]) @ weights


def seasonal_naive(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Each of the next ``horizon`` steps repeats the value one season before it (the last value
    when the history is shorter than a season)."""
    lag = season if len(history) >= season else 1
    return np.stack([history[len(history) - lag + (h % lag)] for h in range(horizon)])


def exponential_smoothing(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Holt-Winters per channel: additive damped trend, additive seasonality when the history
    holds two seasons."""
    holtwinters = require("statsmodels.tsa.holtwinters", "series", "the smoothing baseline")
    seasonal = season > 1 and len(history) >= 2 * season
    columns = []
    for channel in range(history.shape[1]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter of the optimiser
            model = holtwinters.ExponentialSmoothing(
                history[:, channel],
                trend="add" if len(history) >= 10 else None,
                damped_trend=len(history) >= 10,
                seasonal="add" if seasonal else None,
                seasonal_periods=season if seasonal else None,
            ).fit()
        columns.append(np.asarray(model.forecast(horizon)))
    return np.stack(columns, axis=1)
