"""Scores of numeric-sequence predictions: accuracy, macro-F1 and the confusion matrix; RMSE, MAE
and R²; for forecasts MASE, sMAPE and the coverage of an interval (the quantile loss / CRPS is
``forecast.quantile_loss``)."""

from __future__ import annotations

import numpy as np


def classification_scores(true: list, predicted: list, classes: list) -> dict:
    """Accuracy, macro-F1 (over ``classes``) and the confusion matrix (rows: true)."""
    index = {name: i for i, name in enumerate(classes)}
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for t, p in zip(true, predicted):
        confusion[index[t], index[p]] += 1
    hits = np.diag(confusion).astype(np.float64)
    precision = hits / np.maximum(confusion.sum(axis=0), 1)
    recall = hits / np.maximum(confusion.sum(axis=1), 1)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall + 1e-12), 0)
    present = confusion.sum(axis=1) > 0
    return {
        "accuracy": float(hits.sum() / max(len(true), 1)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "classes": list(classes),
        "confusion": confusion.tolist(),
        "count": len(true),
    }


def regression_scores(true: np.ndarray, predicted: np.ndarray, names: list) -> dict:
    """R² (the mean over targets), RMSE and MAE, overall and per target."""
    true, predicted = np.asarray(true, np.float64), np.asarray(predicted, np.float64)
    errors = predicted - true
    residual = (errors**2).sum(axis=0)
    total = ((true - true.mean(axis=0)) ** 2).sum(axis=0)
    r2 = 1 - residual / np.maximum(total, 1e-12)
    per_target = {
        name: {
            "r2": float(r2[k]),
            "rmse": float(np.sqrt((errors[:, k] ** 2).mean())),
            "mae": float(np.abs(errors[:, k]).mean()),
        }
        for k, name in enumerate(names)
    }
    return {
        "r2": float(r2.mean()),
        "rmse": float(np.sqrt((errors**2).mean())),
        "mae": float(np.abs(errors).mean()),
        "targets": per_target,
        "count": len(true),
    }


def naive_scale(history: np.ndarray, season: int) -> float:
    """MASE's denominator: the in-sample mean absolute error of the seasonal naive forecast
    (the naive one when the history is shorter than two seasons)."""
    lag = season if len(history) > season else 1
    if len(history) <= lag:
        return 1.0
    scale = float(np.mean(np.abs(history[lag:] - history[:-lag])))
    return scale if scale > 0 else 1.0


def mase(truth: np.ndarray, forecast: np.ndarray, history: np.ndarray, season: int) -> float:
    return float(np.mean(np.abs(truth - forecast)) / naive_scale(history, season))


def smape(truth: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent (0 where both are 0)."""
    denominator = np.abs(truth) + np.abs(forecast)
    ratio = np.where(
        denominator > 0, 2 * np.abs(forecast - truth) / np.maximum(denominator, 1e-12), 0
    )
    return float(100 * ratio.mean())


def coverage(truth: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """The share of true values inside [low, high]."""
    return float(np.mean((truth >= low) & (truth <= high)))
