"""Evaluating a numeric-sequence model on a set of sequences, beside the baselines: accuracy,
macro-F1 and the confusion matrix; R², RMSE and MAE; for forecasts (the last H steps of every
series held out) MASE, sMAPE, the quantile loss (CRPS) and the 80% interval's coverage, and the
plot of history, forecast and interval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from recur.extras import pyplot
from recur.series.baselines import (
    exponential_smoothing,
    linear_summary,
    nearest_neighbour,
    seasonal_naive,
)
from recur.series.forecast import (
    horizon_factors,
    interval_factor,
    known_covariates,
    model_units,
    quantile_loss,
    sample_paths,
    step_scales,
    widen,
)
from recur.series.metrics import (
    classification_scores,
    coverage,
    mase,
    regression_scores,
    smape,
)
from recur.series.prepare import features
from recur.series.read import SeriesSet
from recur.series.task import predict_outputs

PLOTTED = 4  # series drawn in forecast.png
ORIGINS = 48  # forecast origins that --calibrate reads, one step apart, shared by the series
MIN_ORIGINS = 4  # per series, however many series there are


def predictions(model, data: SeriesSet, series, scaler, device) -> Any:
    """classify: labels; regress: (N, K) targets in the data's units."""
    output = predict_outputs(model, [features(v, scaler, series) for v in data.values], device)
    if series.task == "classify":
        return [series.class_names[i] for i in output.argmax(axis=1)]
    return scaler.unscale_targets(output)


def summary_report(model, data: SeriesSet, series, scaler, device, reference=None) -> dict:
    """classify / regress scores on ``data``; ``reference`` (the training set) fits the
    baseline, which is left out without it."""
    predicted = predictions(model, data, series, scaler, device)
    if series.task == "classify":
        report = classification_scores(data.targets, predicted, series.class_names)
        if reference is not None:
            guess = nearest_neighbour(reference.values, reference.targets, data.values)
            report["baselines"] = {
                "nearest_neighbour": classification_scores(data.targets, guess, series.class_names)
            }
        return report
    report = regression_scores(data.targets, predicted, series.targets)
    if reference is not None:
        fitted = linear_summary(reference.values, reference.targets, data.values)
        report["baselines"] = {
            "linear_summary": regression_scores(data.targets, fitted, series.targets)
        }
    return report


def forecast_report(model, data: SeriesSet, series, scaler, seed: int = 0) -> tuple[dict, list]:
    """Forecast the last H steps of every long enough series from the rest; the scores averaged
    over series and channels, and (history, truth, quantiles) per series for the plot."""
    horizon, season = series.forecast, series.season
    rows: dict[str, list] = {
        k: [] for k in ("mase", "smape", "crps", "coverage_80", "coverage_80_rolling")
    }
    naive: dict[str, list] = {"mase": [], "smape": []}
    smooth: dict[str, list] = {"mase": [], "smape": []}
    drawn = []
    for index, values in enumerate(data.values):
        if len(values) <= horizon + max(series.lags):
            continue
        history, truth = values[:-horizon], values[-horizon:]
        z, undo = model_units(scaler, history)
        local = scaler.mode == "series"
        known = known_covariates(scaler, data, index, len(values))
        paths = sample_paths(
            model, z, horizon, series, series.sample_paths, seed + index, known, local
        )
        raw = widen(undo(paths), step_scales(series, horizon))  # (P, H, C)
        low, median, high = np.quantile(raw, (0.1, 0.5, 0.9), axis=0)
        rows["crps"].append(quantile_loss(raw, truth))
        rows["coverage_80"].append(coverage(truth, low, high))
        rows["coverage_80_rolling"].append(
            rolling_coverage(model, values, series, scaler, seed + index, known)
        )
        for guess, into in (
            (median, rows),
            (seasonal_naive(history, horizon, season), naive),
            (exponential_smoothing(history, horizon, season), smooth),
        ):
            for c in range(values.shape[1]):
                into["mase"].append(mase(truth[:, c], guess[:, c], history[:, c], season))
                into["smape"].append(smape(truth[:, c], guess[:, c]))
        drawn.append((data.ids[index], history, truth, (low, median, high)))
    report: dict = {k: float(np.mean(v)) if v else float("nan") for k, v in rows.items()}
    report["series"] = len(drawn)
    report["horizon"] = horizon
    report["calibration"] = {
        "interval_scale": float(series.interval_scale),
        "horizon_scales": [float(f) for f in series.horizon_scales],
    }
    report["baselines"] = {
        "seasonal_naive": {k: float(np.mean(v)) for k, v in naive.items() if v},
        "exponential_smoothing": {k: float(np.mean(v)) for k, v in smooth.items() if v},
    }
    return report, drawn


def rolling_coverage(model, values: np.ndarray, series, scaler, seed: int, known=None) -> float:
    """The 80% interval's coverage of the last H steps forecast from every origin among them
    (H, H-1, ..., 1 steps ahead; H(H+1)/2 forecasts, all of held-out steps): the coverage of
    one forecast's H correlated steps moves by 1/H a point and with how hard that one origin
    happens to be."""
    horizon, inside = series.forecast, []
    for k in range(horizon):
        origin = len(values) - horizon + k
        z, undo = model_units(scaler, values[:origin])
        local = scaler.mode == "series"
        drawn = sample_paths(
            model, z, horizon - k, series, series.sample_paths, seed * horizon + k, known, local
        )
        scales = step_scales(series, horizon - k)
        low, high = np.quantile(widen(undo(drawn), scales), (0.1, 0.9), axis=0)
        truth = values[origin:]
        inside.append(((truth >= low) & (truth <= high)).ravel())
    return float(np.mean(np.concatenate(inside)))


def plot_forecasts(drawn: list, path: Path, title: str = "") -> Path:
    """History, the held-out truth, the median forecast and its 80% interval (first channel)."""
    plt = pyplot()
    shown = drawn[:PLOTTED]
    figure, axes = plt.subplots(len(shown), 1, figsize=(9, 2.6 * len(shown)), squeeze=False)
    for axis, (name, history, truth, (low, median, high)) in zip(axes[:, 0], shown):
        before = np.arange(len(history))
        after = np.arange(len(history), len(history) + len(median))
        axis.plot(before, history[:, 0], color="0.3", lw=1, label="history")
        if truth is not None:
            axis.plot(after, truth[:, 0], color="black", lw=1.2, label="held out")
        axis.plot(after, median[:, 0], color="tab:blue", lw=1.5, label="forecast (median)")
        axis.fill_between(
            after, low[:, 0], high[:, 0], color="tab:blue", alpha=0.25, label="80% interval"
        )
        axis.set_title(f"{title} series {name}".strip(), fontsize=9)
        axis.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def format_report(report: dict, task: str, where: str) -> str:
    """The report as the lines a user reads."""
    if task == "classify":
        line = f"{where}: accuracy {report['accuracy']:.4f}, macro-F1 {report['macro_f1']:.4f}"
        base = report.get("baselines", {}).get("nearest_neighbour")
        if base:
            line += f"; 1-NN (Euclidean) {base['accuracy']:.4f}, {base['macro_f1']:.4f}"
        matrix = "\n".join(
            f"  {name:>12} {' '.join(f'{n:5d}' for n in row)}"
            for name, row in zip(report["classes"], report["confusion"])
        )
        return f"{line}\nconfusion (rows: true, columns: predicted {report['classes']}):\n{matrix}"
    if task == "regress":
        line = f"{where}: R² {report['r2']:.4f}, RMSE {report['rmse']:.4g}, MAE {report['mae']:.4g}"
        base = report.get("baselines", {}).get("linear_summary")
        if base:
            line += f"; linear regression on summary features: R² {base['r2']:.4f}"
        return line
    naive = report["baselines"].get("seasonal_naive", {})
    smooth = report["baselines"].get("exponential_smoothing", {})
    return calibration_line(report.get("calibration")) + (
        f"{where} (last {report['horizon']} steps of {report['series']} series): MASE "
        f"{report['mase']:.3f}, sMAPE {report['smape']:.2f}%, CRPS {report['crps']:.4g}, 80% "
        f"interval coverage {report['coverage_80']:.2f} ({report['coverage_80_rolling']:.2f} "
        f"from every origin in the last {report['horizon']}); seasonal naive MASE "
        f"{naive.get('mase', float('nan')):.3f}, exponential smoothing MASE "
        f"{smooth.get('mase', float('nan')):.3f}"
    )


def calibration_line(calibration: dict | None) -> str:
    """What the 80% intervals were drawn with: the calibrated factors, or the network's own
    spread (an uncalibrated run, or ``--uncalibrated``)."""
    if not calibration:
        return ""
    factors = calibration["horizon_scales"] or [calibration["interval_scale"]]
    if factors == [1.0]:
        return "80% intervals: the network's own spread (not calibrated)\n"
    low, high = min(factors), max(factors)
    spread = f"{low:.3f}" if low == high else f"{low:.3f}-{high:.3f} by step ahead"
    return f"80% intervals: the network's spread x {spread} (calibrated; --uncalibrated: its own)\n"


def calibrate(model, data: SeriesSet, series, scaler, seed: int = 0, recency: bool = True):
    """The interval factors (``--calibrate``): (one for every step, one per step ahead), from
    forecasts of H steps from the last ``ORIGINS`` / (number of series) origins of every series
    (at least ``MIN_ORIGINS``), one step apart (the last one held out in training), weighted by
    recency (half the weight every H origins back): misses cluster in time (co2's 1997-98
    jump), and the recent past says more about the next forecast's difficulty."""
    truths, drawn, weights = [], [], []
    horizon, first = series.forecast, max(series.lags)
    for index, values in enumerate(data.values):
        known = known_covariates(scaler, data, index, len(values))
        for k in range(max(ORIGINS // len(data.values), MIN_ORIGINS)):
            origin = len(values) - horizon - k
            if origin <= first + 1:
                break
            z, undo = model_units(scaler, values[:origin])
            paths = sample_paths(
                model,
                z,
                horizon,
                series,
                series.sample_paths,
                seed + index * ORIGINS + k,
                known,
                local=scaler.mode == "series",
            )
            truths.append(values[origin : origin + horizon])
            drawn.append(undo(paths))
            weights.append(0.5 ** (k / horizon) if recency else 1.0)
    pooled = interval_factor(truths, drawn, weights=weights)
    return pooled, horizon_factors(truths, drawn, weights=weights)
