"""The "tokenizer" of a numeric-sequence run: how raw values become model inputs and back.

A numeric run has no vocabulary; what it must carry to be used again is its scaling: the mode
(``series``: each series by its own mean and deviation; ``global``: by the training set's;
``none``), the optional log transform, the global statistics per channel and the regression
targets' statistics. Saved as ``tokenizer.json`` (type "series"), so a run's predictions are
undone into the units of its data with nothing else to hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from recur.errors import RecurError

MIN_SCALE = 1e-8  # a constant series keeps deviation 1 rather than dividing by zero


class SeriesScaler:
    kind = "series"
    vocab_size = 0  # no tokens: keeps code that asks every tokenizer its size working
    conditions: dict = {}

    def __init__(self, mode: str = "global", transform: str = "none"):
        self.mode, self.transform = mode, transform
        self.mean: list = []  # per channel, the training set's (after the transform)
        self.std: list = []
        self.target_mean: list = []  # per regression target
        self.target_std: list = []
        self.covariate_mean: list = []  # per covariate column (forecasting), the training set's
        self.covariate_std: list = []

    def fit(
        self,
        series: list[np.ndarray],
        targets: np.ndarray | None = None,
        covariates: list | None = None,
    ) -> SeriesScaler:
        """Statistics of the training series ((T, C) arrays), regression targets (N, K) and
        covariates ((T, K) arrays)."""
        joined = np.concatenate([self.forward(s) for s in series])
        self.mean, self.std = _moments(joined)
        if targets is not None:
            self.target_mean, self.target_std = _moments(np.asarray(targets, np.float64))
        if covariates:
            self.covariate_mean, self.covariate_std = _moments(np.concatenate(covariates))
        return self

    def forward(self, values: np.ndarray) -> np.ndarray:
        """The transform alone (log), before any scaling."""
        values = np.asarray(values, np.float64)
        if self.transform == "log":
            if np.nanmin(values) <= 0:
                raise RecurError("--transform log needs positive values; this series has <= 0")
            return np.log(values)
        return values

    def backward(self, values: np.ndarray) -> np.ndarray:
        return np.exp(values) if self.transform == "log" else values

    def stats(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The (mean, deviation) per channel that scale ``values`` ((T, C), raw units)."""
        channels = values.shape[-1]
        if self.mode == "series":
            return tuple(np.asarray(m) for m in _moments(self.forward(values)))  # type: ignore[return-value]
        if self.mode == "global":
            return np.asarray(self.mean), np.asarray(self.std)
        return np.zeros(channels), np.ones(channels)

    def scale(self, values: np.ndarray, stats=None) -> np.ndarray:
        mean, std = self.stats(values) if stats is None else stats
        return ((self.forward(values) - mean) / std).astype(np.float32)

    def unscale(self, scaled: np.ndarray, stats) -> np.ndarray:
        mean, std = stats
        return self.backward(np.asarray(scaled, np.float64) * std + mean)

    def scale_targets(self, targets: np.ndarray) -> np.ndarray:
        mean, std = np.asarray(self.target_mean), np.asarray(self.target_std)
        return ((np.asarray(targets, np.float64) - mean) / std).astype(np.float32)

    def unscale_targets(self, scaled: np.ndarray) -> np.ndarray:
        return np.asarray(scaled, np.float64) * self.target_std + np.asarray(self.target_mean)

    def scale_covariates(self, covariates: np.ndarray) -> np.ndarray:
        """(T, K) covariates standardised by the training set's statistics."""
        mean, std = np.asarray(self.covariate_mean), np.asarray(self.covariate_std)
        return ((np.asarray(covariates, np.float64) - mean) / std).astype(np.float32)

    def to_dict(self) -> dict:
        return {
            "type": self.kind,
            "mode": self.mode,
            "transform": self.transform,
            "mean": self.mean,
            "std": self.std,
            "target_mean": self.target_mean,
            "target_std": self.target_std,
            **(
                {"covariate_mean": self.covariate_mean, "covariate_std": self.covariate_std}
                if self.covariate_mean
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, values: dict) -> SeriesScaler:
        scaler = cls(values["mode"], values.get("transform", "none"))
        for name in ("mean", "std", "target_mean", "target_std", "covariate_mean", "covariate_std"):
            setattr(scaler, name, list(values.get(name, [])))
        return scaler

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict()), encoding="utf-8")


def _moments(values: np.ndarray) -> tuple[list, list]:
    """Mean and deviation of each column of (N, C) values (a deviation of 0 becomes 1)."""
    mean = np.nanmean(values, axis=0)
    std = np.nanstd(values, axis=0)
    std = np.where(std < MIN_SCALE, 1.0, std)
    return mean.tolist(), std.tolist()
