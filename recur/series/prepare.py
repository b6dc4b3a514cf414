"""From read sequences to what the network reads: the task, the split, the fitted scaling and the
per-step input features (``Prepared``), and the summary a user reads before training."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch

from recur.config.series_options import SeriesConfig
from recur.errors import RecurError, UsageError
from recur.series.read import SeriesSet
from recur.tokenizers.scaler import SeriesScaler

MAX_FRAMES = 32  # --frame 0 reads the longest sequence in at most this many steps


@dataclass
class Prepared:
    train: SeriesSet
    val: SeriesSet
    scaler: SeriesScaler
    lines: list = field(default_factory=list)


def resolve_task(series: SeriesConfig, data: SeriesSet) -> None:
    """Fill the config's data-given fields: task, channels, classes or targets, lags."""
    series.channels = list(data.channels)
    if series.covariates and (series.forecast <= 0 or not data.covariates):
        raise RecurError(
            "--covariates feeds other columns to a forecaster (--forecast H) reading a long "
            "layout (one row per step); a classifier or regressor reads them as --value-columns"
        )
    series.covariate_columns = [
        n.strip() for n in (series.covariates or "").split(",") if n.strip()
    ]
    if series.forecast > 0:
        series.task = "forecast"
        series.lags = [1] + ([series.season, series.season + 1] if series.season > 1 else [])
        return
    if data.targets is None:
        raise UsageError("give --target COLUMN (classify or regress) or --forecast H")
    if series.frame <= 0:
        series.frame = max(1, math.ceil(max(len(v) for v in data.values) / MAX_FRAMES))
    if isinstance(data.targets, list):
        series.task = "classify"
        series.class_names = sorted(set(data.targets), key=_label_order)
    else:
        series.task = "regress"
        series.targets = [t.strip() for t in (series.target or "").split(",")] or [
            f"y{k}" for k in range(data.targets.shape[1])
        ]
        if len(series.targets) != data.targets.shape[1]:
            series.targets = [f"y{k}" for k in range(data.targets.shape[1])]


def _label_order(label: str):
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def subset(data: SeriesSet, indices) -> SeriesSet:
    targets = data.targets
    if isinstance(targets, list):
        targets = [targets[i] for i in indices]
    elif targets is not None:
        targets = targets[indices]
    return SeriesSet(
        [data.ids[i] for i in indices],
        [data.values[i] for i in indices],
        data.channels,
        targets,
        [data.covariates[i] for i in indices] if data.covariates else [],
        data.missing,
        data.task,
    )


def split(data: SeriesSet, series: SeriesConfig, fraction: float, seed: int):
    """Training and validation sets: a seeded share of the sequences (a forecaster validates
    on the last H steps of every series instead, so both are the whole set)."""
    if series.task == "forecast" or fraction <= 0:
        return data, data if series.task == "forecast" else subset(data, [])
    order = np.random.default_rng(seed).permutation(len(data))
    count = max(1, round(len(data) * fraction)) if len(data) > 1 else 0
    return subset(data, sorted(order[count:])), subset(data, sorted(order[:count]))


def fit_scaler(train: SeriesSet, series: SeriesConfig) -> SeriesScaler:
    mode = series.scaling
    if mode == "auto":
        mode = "series" if series.task == "forecast" else "global"
    values = train.values
    if series.task == "forecast":  # statistics of the histories only, never the held-out end
        values = [v[: len(v) - series.forecast] for v in values if len(v) > series.forecast]
    targets = train.targets if series.task == "regress" else None
    covariates = [c[: len(v)] for c, v in zip(train.covariates, train.values)] or None
    return SeriesScaler(mode, series.transform).fit(values or train.values, targets, covariates)


def features(values: np.ndarray, scaler: SeriesScaler, series: SeriesConfig) -> torch.Tensor:
    """classify/regress: (T, C) raw values -> (T, F) inputs: scaled, and their changes."""
    scaled = scaler.scale(values)
    if series.differences:
        changes = np.diff(scaled, axis=0, prepend=scaled[:1])
        scaled = np.concatenate([scaled, changes], axis=1)
    frame = max(series.frame, 1)
    if frame > 1:  # (T, F) -> (ceil(T / frame), frame * F), the last frame padded by its edge
        padded = np.pad(scaled, ((0, -len(scaled) % frame), (0, 0)), mode="edge")
        scaled = padded.reshape(len(padded) // frame, frame * scaled.shape[1])
    return torch.from_numpy(np.ascontiguousarray(scaled, dtype=np.float32))


def label_ids(data: SeriesSet, series: SeriesConfig, source: str = "") -> np.ndarray:
    index = {name: i for i, name in enumerate(series.class_names)}
    unknown = sorted({label for label in data.targets if label not in index})
    if unknown:
        raise RecurError(
            f"{source or 'data'}: classes the run was not trained on: {', '.join(unknown[:5])}"
        )
    return np.array([index[label] for label in data.targets], dtype=np.int64)


def summary(data: SeriesSet, train: SeriesSet, val: SeriesSet, series: SeriesConfig) -> list:
    lengths = [len(v) for v in data.values]
    lines = [
        f"series: {len(data):,} sequences of {len(series.channels)} channel(s) "
        f"({', '.join(series.channels[:6])}{'...' if len(series.channels) > 6 else ''}), "
        f"{min(lengths)}-{max(lengths)} steps; {data.missing:,} missing values filled "
        f"(--fill {series.fill})"
    ]
    if series.task == "classify":
        counts = Counter(data.targets)
        shown = ", ".join(f"{name} {counts[name]}" for name in series.class_names)
        lines.append(f"task: classify into {len(series.class_names)} classes ({shown})")
    elif series.task == "regress":
        lines.append(f"task: regress {', '.join(series.targets)}")
    else:
        lines.append(
            f"task: forecast {series.forecast} steps ({series.distribution} head, lags "
            f"{series.lags}, season {series.season}); validation: the last {series.forecast} "
            "steps of every series"
        )
    if series.task != "forecast":
        lines.append(f"split: {len(train):,} training, {len(val):,} validation sequences")
    return lines
