"""Forecasting with a trained DeepAR-style network: the inputs of each step (lagged values, the
position in the season, covariates), training windows, sample paths, quantiles and the anomaly
score of every observed step.

Every series is scaled by itself (``--scaling series``) before the network sees it; the
network's inputs at step t hold the values at t - lag, so the distribution it returns is that of
the value at t. Forecasting feeds each path's own draws back in, one step at a time.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from recur.config.series_options import SeriesConfig
from recur.errors import RecurError
from recur.models.series import distribution

QUANTILES = (0.1, 0.5, 0.9)  # the columns recur predict writes: the 80% interval and median
OUTLIER = 4.0  # deviations from the one-step forecast past which a value is not fed on
CRPS_LEVELS = tuple(round(0.05 * k, 2) for k in range(1, 20))  # the quantile loss grid


def step_inputs(z: torch.Tensor, start: int, stop: int, series: SeriesConfig, covariates=None):
    """(B, T, C) scaled values -> the (B, stop - start, F) inputs of steps start..stop-1."""
    parts = [z[:, start - lag : stop - lag, :] for lag in series.lags]
    batch = z.shape[0]
    if series.calendar and series.season > 1:
        steps = torch.arange(start, stop, dtype=z.dtype, device=z.device)
        angle = 2 * math.pi * steps / series.season
        calendar = torch.stack([torch.sin(angle), torch.cos(angle)], dim=-1)
        parts.append(calendar.expand(batch, -1, -1))
    if covariates is not None:
        parts.append(covariates[:, start:stop, :].expand(batch, -1, -1))
    return torch.cat(parts, dim=-1)


def context(series: SeriesConfig) -> int:
    return series.context_length or 4 * max(series.forecast, series.season)


def window_length(lengths: list, series: SeriesConfig) -> int:
    """Steps predicted by one training window: context + horizon, cut to the shortest series."""
    return max(1, min(context(series) + series.forecast, min(lengths) - max(series.lags)))


def model_units(scaler, values: np.ndarray):
    """(T, C) raw values -> (what the network reads, the function that undoes it). With
    ``--scaling series`` a forecaster standardises each window by its own conditioning steps
    (as DeepAR scales each window by itself), so only the transform is applied here."""
    if scaler.mode == "series":
        return scaler.forward(values).astype(np.float32), scaler.backward
    stats = scaler.stats(values)
    return scaler.scale(values, stats), lambda scaled: scaler.unscale(scaled, stats)


def known_covariates(scaler, data, index: int, steps: int, source: str = "") -> np.ndarray | None:
    """The scaled (steps, K) covariates of series ``index`` of ``data`` (None without
    covariates); an error naming the series when its rows stop short of ``steps``."""
    if not data.covariates:
        return None
    known = data.covariates[index]
    if len(known) < steps:
        raise RecurError(
            f"{source or 'data'}: series {data.ids[index]} has covariates for {len(known)} "
            f"steps, {steps} needed: add rows after its last value, the value empty and the "
            "covariates filled, one per step to forecast"
        )
    return scaler.scale_covariates(known[:steps])


def local_scale(z: torch.Tensor, stop: int, span: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 1, C) mean and deviation of the ``span`` steps before ``stop`` (deviation 1 where
    0). Centred, unlike DeepAR's mean absolute value: a series far from zero (co2 near 350
    ppm, moving by 3) would otherwise leave its movements below the network's resolution."""
    window = z[:, max(0, stop - span) : stop]
    mean = window.mean(dim=1, keepdim=True)
    scale = window.std(dim=1, keepdim=True, unbiased=False)
    return mean, torch.where(scale > 0, scale, torch.ones_like(scale))


def window_loss(network, windows: list, length: int, series, device, local: bool):
    """Mean negative log-likelihood over training windows: (z (1, T, C) series, covariates
    (1, T, K) or None, first step) each, ``length`` steps long; ``local``: each window divided
    by the scale of its conditioning steps."""
    span = context(series) + max(series.lags)
    inputs, targets = [], []
    for z, cov, s in windows:
        if local:
            mean, scale = local_scale(z, s + max(1, length - series.forecast), span)
            z = (z - mean) / scale
        inputs.append(step_inputs(z, s, s + length, series, cov))
        targets.append(z[:, s : s + length])
    params, _ = network(torch.cat(inputs).to(device))
    return -distribution(params.float()).log_prob(torch.cat(targets).to(device)).mean()


def _expand(state, paths: int):
    if isinstance(state, tuple):
        return tuple(s.expand(-1, paths, -1).contiguous() for s in state)
    return state.expand(-1, paths, -1).contiguous()


@torch.no_grad()
def sample_paths(
    model,
    z: np.ndarray,
    horizon: int,
    series,
    paths: int,
    seed: int = 0,
    covariates: np.ndarray | None = None,
    local: bool = False,
) -> np.ndarray:
    """(T, C) history in model units -> (paths, horizon, C) sample paths in the same units."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    length, channels = z.shape
    extended = torch.zeros(1, length + horizon, channels, device=device)
    extended[0, :length] = torch.from_numpy(np.asarray(z, np.float32))
    mean = torch.zeros(1, 1, channels, device=device)
    scale = torch.ones(1, 1, channels, device=device)
    if local:
        mean, scale = local_scale(extended, length, context(series) + max(series.lags))
        extended = (extended - mean) / scale
    cov = None if covariates is None else torch.from_numpy(covariates.astype(np.float32))[None]
    first = max(series.lags)
    _, state = model(step_inputs(extended, first, length, series, cov))
    extended = extended.expand(paths, -1, -1).clone()
    state = _expand(state, paths)
    with torch.random.fork_rng(devices=[]):  # the run's own RNG stream is left untouched
        torch.manual_seed(seed)
        for t in range(length, length + horizon):
            params, state = model(step_inputs(extended, t, t + 1, series, cov), state)
            extended[:, t] = distribution(params[:, 0].float()).sample()
    model.train(was_training)
    return (extended[:, length:] * scale + mean).cpu().numpy()


@torch.no_grad()
def step_scores(model, z: np.ndarray, series, covariates=None, local: bool = False):
    """One-step predictions of the observed steps max(lags)..T-1, one step at a time: (means
    (T', C) in model units, negative log-likelihoods (T', C) in scaled units). A value more
    than ``OUTLIER`` deviations from its prediction is replaced by the prediction in the lags
    of later steps, so one spike is not scored again a step and a season later."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    values = torch.from_numpy(np.asarray(z, np.float32))[None].to(device)
    mean = torch.zeros(1, 1, z.shape[1], device=device)
    scale = torch.ones(1, 1, z.shape[1], device=device)
    if local:
        mean, scale = local_scale(values, len(z), len(z))
    values = (values - mean) / scale
    clean = values.clone()
    cov = None if covariates is None else torch.from_numpy(covariates.astype(np.float32))[None]
    state, means, scores = None, [], []
    for t in range(max(series.lags), len(z)):
        params, state = model(step_inputs(clean, t, t + 1, series, cov), state)
        params = params[:, 0].float()  # (1, C, P)
        observed = values[:, t]
        scores.append(-distribution(params).log_prob(observed))
        means.append(params[..., 0])
        outlier = (observed - params[..., 0]).abs() > OUTLIER * params[..., 1]
        clean[:, t] = torch.where(outlier, params[..., 0], observed)
    model.train(was_training)
    expected = torch.stack(means, dim=1) * scale + mean  # (1, T', C)
    return expected[0].cpu().numpy(), torch.stack(scores, dim=1)[0].cpu().numpy()


def quantile_loss(paths: np.ndarray, truth: np.ndarray, levels=CRPS_LEVELS) -> float:
    """Twice the mean pinball loss of the paths' quantiles at ``levels``: a CRPS estimate."""
    quantiles = np.quantile(paths, levels, axis=0)  # (Q, H, C)
    errors = truth[None] - quantiles
    levels_ = np.asarray(levels).reshape(-1, *([1] * truth.ndim))
    return float(2 * np.mean(np.maximum(levels_ * errors, (levels_ - 1) * errors)))


def widen(paths: np.ndarray, factor) -> np.ndarray:
    """(P, H, C) paths spread around their median by ``factor``: one number, or one per step
    ahead (the calibrated intervals)."""
    factor = np.asarray(factor, dtype=np.float64)
    if factor.ndim == 0 and float(factor) == 1.0:
        return paths
    if factor.ndim:
        factor = factor.reshape(1, -1, 1)
    median = np.median(paths, axis=0, keepdims=True)
    return median + factor * (paths - median)


def step_scales(series, steps: int):
    """The calibrated factor of each of ``steps`` steps ahead (the last one repeated past the
    horizon), or the one factor of a run calibrated before there was one per step."""
    scales = list(series.horizon_scales)
    if not scales:
        return series.interval_scale
    return np.asarray((scales + scales[-1:] * steps)[:steps])


def _distances(truth: np.ndarray, drawn: np.ndarray, coverage: float) -> np.ndarray:
    """(H, C): each true value's distance from the paths' median in units of the central
    ``coverage`` interval's half on its side (1: on the interval's edge)."""
    tail = (1 - coverage) / 2
    low, median, high = np.quantile(drawn, (tail, 0.5, 1 - tail), axis=0)
    above = (truth - median) / np.maximum(high - median, 1e-12)
    below = (median - truth) / np.maximum(median - low, 1e-12)
    return np.where(truth >= median, above, below)


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, level: float) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    position = min(int(np.searchsorted(cumulative, level * cumulative[-1])), len(order) - 1)
    return float(np.clip(values[order][position], 0.1, 10.0))


def interval_factor(truths: list, paths: list, coverage: float = 0.8, weights=None) -> float:
    """The factor by which the paths' spread must grow for ``coverage`` of the true values to
    fall inside the central interval of that coverage: the (``weights``-weighted, one weight per
    forecast) quantile of the truths' distances from the median."""
    if not truths:
        return 1.0
    distances = [_distances(t, p, coverage).ravel() for t, p in zip(truths, paths)]
    weight = np.ones(len(truths)) if weights is None else np.asarray(weights, np.float64)
    repeated = [np.full(d.shape, w) for d, w in zip(distances, weight)]
    return _weighted_quantile(np.concatenate(distances), np.concatenate(repeated), coverage)


def horizon_factors(
    truths: list, paths: list, coverage: float = 0.8, weights=None, pooled: int = 1
) -> list:
    """One factor per step ahead (conformal per horizon: the k-step errors grow as the
    paths' spread may not), each from steps h - ``pooled`` .. h + ``pooled`` together, as a
    few dozen origins give a noisy 80th percentile one step alone. ``truths``: (H, C) each."""
    if not truths:
        return []
    distances = np.stack([_distances(t, p, coverage) for t, p in zip(truths, paths)])
    weight = np.ones(len(truths)) if weights is None else np.asarray(weights, np.float64)
    factors = []
    for h in range(distances.shape[1]):
        part = distances[:, max(0, h - pooled) : h + pooled + 1]  # (N, k, C)
        spread = np.broadcast_to(weight[:, None, None], part.shape)
        factors.append(_weighted_quantile(part.ravel(), spread.ravel(), coverage))
    return factors
