"""SeriesModel, what ``recur.load`` returns for a numeric-sequence run: predictions (classes,
numbers, or forecasts with quantiles and sample paths), anomaly scores per step, and evaluation
beside the baselines."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from recur.config.options import DataConfig, from_dict
from recur.config.series_options import SeriesConfig
from recur.errors import RecurError, UsageError
from recur.series.forecast import (
    QUANTILES,
    known_covariates,
    model_units,
    sample_paths,
    step_scales,
    step_scores,
    widen,
)
from recur.series.prepare import features
from recur.series.read import SeriesSet, read_series
from recur.series.report import (
    forecast_report,
    plot_forecasts,
    summary_report,
)
from recur.series.task import predict_outputs


class SeriesModel:
    """A trained numeric-sequence run: ``predict``, ``forecast``, ``anomalies``, ``evaluate``."""

    def __init__(self, bundle, device="cpu"):
        self.bundle, self.device = bundle, device
        self.series = from_dict(SeriesConfig, bundle.config["series"])
        self.data = from_dict(DataConfig, bundle.config["data"])
        self.scaler = bundle.tokenizer
        self.model = bundle.model.eval()

    @property
    def path(self) -> Path:
        return self.bundle.path

    @property
    def kind(self) -> str:
        return "series"

    @property
    def local(self) -> bool:
        """Forecasts scaled window by window (``--scaling series``)."""
        return self.scaler.mode == "series"

    @property
    def task(self) -> str:
        return self.series.task

    def uncalibrated(self) -> SeriesModel:
        """Forecast with the network's own spread: the factors ``--calibrate`` stored in
        config.json are set aside (for this object only; the run is not changed)."""
        self.series.interval_scale, self.series.horizon_scales = 1.0, []
        return self

    def read(self, path, need_target: bool = False) -> SeriesSet:
        """Sequences of a file laid out as the run's training data."""
        data = from_dict(DataConfig, {"paths": [str(path)]})
        read = read_series(data, self.series, need_target=need_target)
        if read.channels != self.series.channels and Path(path).suffix != ".npy":
            raise RecurError(
                f"{path}: value columns {read.channels}; the run reads {self.series.channels}"
            )
        return read

    def training_set(self) -> SeriesSet | None:
        """The run's training data, read again for the baselines (None when it is gone)."""
        try:
            return read_series(self.data, self.series)
        except RecurError:
            return None

    def predict(self, data: SeriesSet):
        """classify: (labels, (N, C) probabilities); regress: (N, K) numbers."""
        inputs = [features(v, self.scaler, self.series) for v in data.values]
        output = predict_outputs(self.model, inputs, self.device)
        if self.task == "classify":
            shifted = np.exp(output - output.max(axis=1, keepdims=True))
            probabilities = shifted / shifted.sum(axis=1, keepdims=True)
            return [self.series.class_names[i] for i in output.argmax(axis=1)], probabilities
        return self.scaler.unscale_targets(output)

    def forecast(
        self,
        values: np.ndarray,
        horizon: int | None = None,
        paths: int | None = None,
        seed: int = 0,
        covariates: np.ndarray | None = None,
    ) -> np.ndarray:
        """(T, C) history in the data's units -> (paths, H, C) sample paths in the same units;
        a run trained with covariates needs their (T + H, K) values, the next H steps' too."""
        horizon = horizon or self.series.forecast
        z, undo = model_units(self.scaler, values)
        count = paths or self.series.sample_paths
        known = self._known(covariates, len(values) + horizon)
        drawn = sample_paths(self.model, z, horizon, self.series, count, seed, known, self.local)
        return widen(undo(drawn), step_scales(self.series, horizon))

    def _known(self, covariates, steps: int, name: str = "") -> np.ndarray | None:
        if not self.series.covariate_columns:
            return None
        wanted = ", ".join(self.series.covariate_columns)
        if covariates is None or len(covariates) < steps:
            have = 0 if covariates is None else len(covariates)
            raise RecurError(
                f"series {name or '0'}: covariates ({wanted}) for {have} steps, {steps} "
                "needed: the history's and one row per step to forecast"
            )
        return self.scaler.scale_covariates(np.asarray(covariates)[:steps])

    def anomalies(self, values: np.ndarray, covariates=None) -> tuple[np.ndarray, np.ndarray]:
        """(expected (T', C), score (T', C)) for steps max(lags)..T-1: the one-step forecast's
        mean, and the negative log-likelihood of the observed value under it (higher: more
        surprising)."""
        z, undo = model_units(self.scaler, values)
        known = self._known(covariates, len(values))
        means, scores = step_scores(self.model, z, self.series, known, local=self.local)
        return undo(means), scores

    def evaluate(self, path, plot: str | Path | None = None) -> dict:
        """Scores on a labelled file (classify / regress), or on the last H steps of every
        series in it (forecast, with ``forecast.png`` written to ``plot``), with baselines."""
        if self.task == "forecast":
            report, drawn = forecast_report(self.model, self.read(path), self.series, self.scaler)
            if plot and drawn:
                report["plot"] = str(plot_forecasts(drawn, Path(plot), Path(path).name))
            return report
        data = self.read(path, need_target=True)
        if data.targets is None:
            raise RecurError(f"{path}: no {self.series.target} column to score against")
        return summary_report(
            self.model, data, self.series, self.scaler, self.device, self.training_set()
        )

    def predict_file(
        self,
        path,
        out,
        anomalies: bool = False,
        horizon: int | None = None,
        plot: str | Path | None = None,
    ) -> dict:
        """Write predictions for the sequences of ``path`` to the CSV ``out``."""
        data = self.read(path)
        if anomalies:
            if self.task != "forecast":
                raise UsageError("--anomalies needs a forecasting run (trained with --forecast)")
            rows = self._anomaly_rows(data)
        elif self.task == "forecast":
            rows, drawn = self._forecast_rows(data, horizon, str(path))
            if plot and drawn:
                plot_forecasts(drawn, Path(plot), Path(path).name)
        else:
            rows = self._summary_rows(data)
        _write(out, rows)
        return {"out": str(out), "rows": len(rows), "series": len(data)}

    def _summary_rows(self, data: SeriesSet) -> list:
        if self.task == "classify":
            labels, probabilities = self.predict(data)
            return [
                {
                    "id": name,
                    "predicted": label,
                    **{f"p_{c}": round(float(p), 6) for c, p in zip(self.series.class_names, row)},
                }
                for name, label, row in zip(data.ids, labels, probabilities)
            ]
        numbers = self.predict(data)
        return [
            {"id": name, **{t: float(v) for t, v in zip(self.series.targets, row)}}
            for name, row in zip(data.ids, numbers)
        ]

    def _forecast_rows(self, data: SeriesSet, horizon, source="") -> tuple[list, list]:
        rows, drawn = [], []
        for index, (name, values) in enumerate(zip(data.ids, data.values)):
            known = data.covariates[index] if data.covariates else None
            steps = len(values) + (horizon or self.series.forecast)
            known_covariates(self.scaler, data, index, steps, source)  # the error names the file
            paths = self.forecast(values, horizon, seed=index, covariates=known)
            low, median, high = np.quantile(paths, QUANTILES, axis=0)
            mean = paths.mean(axis=0)
            drawn.append((name, values, None, (low, median, high)))
            for h in range(paths.shape[1]):
                for c, channel in enumerate(self.series.channels):
                    rows.append(
                        {
                            "id": name,
                            "step": len(values) + h,
                            "channel": channel,
                            "mean": float(mean[h, c]),
                            "p10": float(low[h, c]),
                            "p50": float(median[h, c]),
                            "p90": float(high[h, c]),
                        }
                    )
        return rows, drawn

    def _anomaly_rows(self, data: SeriesSet) -> list:
        rows = []
        first = max(self.series.lags)
        for index, (name, values) in enumerate(zip(data.ids, data.values)):
            known = data.covariates[index] if data.covariates else None
            expected, scores = self.anomalies(values, known)
            for t in range(len(expected)):
                for c, channel in enumerate(self.series.channels):
                    rows.append(
                        {
                            "id": name,
                            "step": first + t,
                            "channel": channel,
                            "value": float(values[first + t, c]),
                            "expected": float(expected[t, c]),
                            "score": float(scores[t, c]),
                        }
                    )
        return rows


def _write(out, rows: list) -> None:
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["id"])
        writer.writeheader()
        writer.writerows(rows)
