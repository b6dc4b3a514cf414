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
from recur.models.series import distribution

QUANTILES = (0.1, 0.5, 0.9)  # the columns recur predict writes: the 80% interval and median
CRPS_LEVELS = tuple(round(0.05 * k, 2) for k in range(1, 20))  # the quantile loss grid


def step_inputs(z: torch.Tensor, start: int, stop: int, series: SeriesConfig, covariates=None):
    """(B, T, C) scaled values -> the (B, stop - start, F) inputs of steps start..stop-1."""
    parts = [z[:, start - lag : stop - lag, :] for lag in series.lags]
    batch = z.shape[0]
    if series.calendar and series.season > 1:
        angle = 2 * math.pi * torch.arange(start, stop, dtype=z.dtype) / series.season
        calendar = torch.stack([torch.sin(angle), torch.cos(angle)], dim=-1)
        parts.append(calendar.expand(batch, -1, -1))
    if covariates is not None:
        parts.append(covariates[:, start:stop, :].expand(batch, -1, -1))
    return torch.cat(parts, dim=-1)


def window_length(lengths: list, series: SeriesConfig) -> int:
    """Steps predicted by one training window: context + horizon, cut to the shortest series."""
    context = series.context_length or 4 * max(series.forecast, series.season)
    return max(1, min(context + series.forecast, min(lengths) - max(series.lags)))


def window_loss(network, windows: list, length: int, series, device) -> torch.Tensor:
    """Mean negative log-likelihood over training windows: (z (1, T, C) scaled series,
    covariates (1, T, K) or None, first step) each, ``length`` steps long."""
    inputs = torch.cat([step_inputs(z, s, s + length, series, cov) for z, cov, s in windows])
    targets = torch.cat([z[:, s : s + length] for z, _, s in windows])
    params, _ = network(inputs.to(device))
    return -distribution(params.float()).log_prob(targets.to(device)).mean()


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
) -> np.ndarray:
    """(T, C) scaled history -> (paths, horizon, C) scaled sample paths."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    length, channels = z.shape
    extended = torch.zeros(1, length + horizon, channels, device=device)
    extended[0, :length] = torch.from_numpy(np.asarray(z, np.float32))
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
    return extended[:, length:].cpu().numpy()


@torch.no_grad()
def step_scores(model, z: np.ndarray, series, covariates: np.ndarray | None = None):
    """Teacher-forced one-step predictions of the observed steps: (means (T', C), negative
    log-likelihoods (T', C)) for steps max(lags)..T-1, in scaled units."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    values = torch.from_numpy(np.asarray(z, np.float32))[None].to(device)
    cov = None if covariates is None else torch.from_numpy(covariates.astype(np.float32))[None]
    first = max(series.lags)
    params, _ = model(step_inputs(values, first, len(z), series, cov))
    nll = -distribution(params.float()).log_prob(values[:, first:])
    model.train(was_training)
    return params[0, :, :, 0].cpu().numpy(), nll[0].cpu().numpy()


def quantile_loss(paths: np.ndarray, truth: np.ndarray, levels=CRPS_LEVELS) -> float:
    """Twice the mean pinball loss of the paths' quantiles at ``levels``: a CRPS estimate."""
    quantiles = np.quantile(paths, levels, axis=0)  # (Q, H, C)
    errors = truth[None] - quantiles
    levels_ = np.asarray(levels).reshape(-1, *([1] * truth.ndim))
    return float(2 * np.mean(np.maximum(levels_ * errors, (levels_ - 1) * errors)))
