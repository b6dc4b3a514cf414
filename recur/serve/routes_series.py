"""``POST /v1/series``: a numeric-sequence run on values sent in the request: the class and its
probabilities (classify), the regressed numbers (regress), or the next H values' mean and
10/50/90 percentiles from sample paths (forecast), in the data's units."""

from __future__ import annotations

import asyncio

import numpy as np
from fastapi import APIRouter, Request

from recur.errors import RecurError
from recur.series.forecast import QUANTILES
from recur.series.read import SeriesSet
from recur.series.use import SeriesModel
from recur.serve.routes_text import find
from recur.serve.schemas import SeriesRequest

router = APIRouter()


def _matrix(rows: list, name: str, width: int) -> np.ndarray:
    """A list of numbers (one channel) or of per-step lists -> (T, width) floats."""
    values = np.asarray([r if isinstance(r, list) else [r] for r in rows], dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != width or not np.isfinite(values).all():
        raise RecurError(f"{name}: give finite numbers, {width} per step")
    return values


def answer(model: SeriesModel, body: SeriesRequest) -> dict:
    series = model.series
    values = _matrix(body.values, "values", len(series.channels))
    if series.task == "forecast":
        covariates = None
        if body.covariates is not None:
            covariates = _matrix(body.covariates, "covariates", len(series.covariate_columns))
        horizon = body.horizon or series.forecast
        paths = model.forecast(values, horizon, body.paths, body.seed, covariates)
        low, median, high = np.quantile(paths, QUANTILES, axis=0)
        shown = {"mean": paths.mean(axis=0), "p10": low, "p50": median, "p90": high}
        return {
            "horizon": horizon,
            "channels": list(series.channels),
            **{name: array.tolist() for name, array in shown.items()},
        }
    data = SeriesSet(["0"], [values], list(series.channels))
    if series.task == "classify":
        labels, probabilities = model.predict(data)
        names = series.class_names
        return {"class": labels[0], "probabilities": dict(zip(names, probabilities[0].tolist()))}
    return {"targets": dict(zip(series.targets, model.predict(data)[0].tolist()))}


@router.post("/v1/series")
async def predict_series(body: SeriesRequest, request: Request) -> dict:
    item = find(request.app.state.models, body.model)
    if item.series is None:
        raise RecurError(f"{body.model} is a {item.kind} run, not a series run")
    return await asyncio.to_thread(answer, item.series, body)
