"""The numeric-sequence network (build_series_model): a recurrent encoder over value vectors with
a head for each task.

- classify / regress: ``forward(x: (B, T, F), lengths: (B,)) -> (B, outputs)``; the sequences
  are packed, so padding never reaches the final state, and the head reads the final state
  beside the mean over the real steps.
- forecast (DeepAR, Salinas et al. 2019): ``forward(x: (B, T, F), state) -> (params: (B, T, C,
  P), state)``, the parameters of each next value's distribution (Gaussian: mean and scale;
  Student-t: also the degrees of freedom). The first inputs are lagged values (lag 1, the season,
  the season + 1); a linear skip from them to the mean (the "autoregressive highway" of LSTNet,
  Lai et al. 2018) lets the network extrapolate trends the recurrent state alone saturates on;
  with covariates (the last inputs), a second linear skip from them to the mean.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from recur.config.options import ModelConfig
from recur.config.series_options import SeriesConfig

RNNS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
MIN_SCALE = 1e-3  # the smallest predicted deviation, in scaled units


def series_inputs(series: SeriesConfig) -> int:
    """Features the network reads at each step."""
    channels = len(series.channels)
    if series.task != "forecast":
        return channels * (2 if series.differences else 1) * max(series.frame, 1)
    calendar = 2 if series.calendar and series.season > 1 else 0
    return channels * len(series.lags) + calendar + len(series.covariate_columns)


def distribution_size(series: SeriesConfig) -> int:
    return 3 if series.distribution == "student-t" else 2


class SeriesNetwork(nn.Module):
    def __init__(self, model: ModelConfig, series: SeriesConfig):
        super().__init__()
        self.task = series.task
        self.bidirectional = series.both_directions and series.task != "forecast"
        self.rnn = RNNS[model.cell](
            series_inputs(series),
            model.hidden_size,
            model.num_layers,
            batch_first=True,
            dropout=model.dropout if model.num_layers > 1 else 0.0,
            bidirectional=self.bidirectional,
        )
        width = model.hidden_size * (2 if self.bidirectional else 1)
        self.dropout = nn.Dropout(model.dropout)
        if self.task == "forecast":
            self.channels, self.params = len(series.channels), distribution_size(series)
            self.head = nn.Linear(model.hidden_size, self.channels * self.params)
            self.highway = nn.Linear(len(series.lags) * self.channels, self.channels)
            self.start_from_seasonal_walk(len(series.lags))
            self.covariates = len(series.covariate_columns)
            if self.covariates:  # a linear path from the covariates to the mean, starting at 0
                self.covariate_skip = nn.Linear(self.covariates, self.channels, bias=False)
                nn.init.zeros_(self.covariate_skip.weight)
        else:
            outputs = len(series.class_names) if self.task == "classify" else len(series.targets)
            self.head = nn.Linear(2 * width, outputs)

    @torch.no_grad()
    def start_from_seasonal_walk(self, lags: int) -> None:
        """The mean starts as the seasonal random walk, x[t-1] + x[t-s] - x[t-s-1] (with lags
        1, s, s+1; the random walk x[t-1] with lag 1 alone): a classical forecast the network
        then corrects, rather than a zero it must first learn away from."""
        self.highway.weight.zero_()
        self.highway.bias.zero_()
        signs = [1.0, 1.0, -1.0][:lags]
        for channel in range(self.channels):
            for index, sign in enumerate(signs):
                self.highway.weight[channel, index * self.channels + channel] = sign
        mean_rows = torch.arange(self.channels) * self.params  # the mean of each channel
        self.head.weight[mean_rows] = 0.0
        self.head.bias[mean_rows] = 0.0

    def forward(self, x: torch.Tensor, lengths=None, state=None):
        if self.task == "forecast":
            return self.forecast(x, state)
        return self.summarise(x, lengths)

    def summarise(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T, F) padded sequences and their lengths -> (B, outputs)."""
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        output, final = self.rnn(packed)
        hidden = final[0] if isinstance(final, tuple) else final  # LSTM: (h, c)
        directions = 2 if self.bidirectional else 1
        last = torch.cat(list(hidden[-directions:]), dim=-1)  # (B, width)
        steps, _ = pad_packed_sequence(output, batch_first=True)  # (B, T', width)
        mean = steps.sum(dim=1) / lengths.to(steps.device).unsqueeze(1).float()
        return self.head(self.dropout(torch.cat([last, mean], dim=-1)))

    def forecast(self, x: torch.Tensor, state=None):
        """(B, T, F) inputs -> the next values' distribution parameters (B, T, C, P), state."""
        output, state = self.rnn(x, state)
        raw = self.head(self.dropout(output)).unflatten(-1, (self.channels, self.params))
        lagged = x[..., : self.highway.in_features]
        mean = raw[..., 0] + self.highway(lagged)
        if self.covariates:  # the covariates are the last inputs of every step
            mean = mean + self.covariate_skip(x[..., -self.covariates :])
        scale = F.softplus(raw[..., 1]) + MIN_SCALE
        parts = [mean, scale]
        if self.params == 3:
            parts.append(2.0 + F.softplus(raw[..., 2]))  # degrees of freedom > 2: finite variance
        return torch.stack(parts, dim=-1), state


def build_series_model(model: ModelConfig, series: SeriesConfig) -> SeriesNetwork:
    return SeriesNetwork(model, series)


def distribution(params: torch.Tensor) -> torch.distributions.Distribution:
    """The per-step distribution of (..., P) parameters: Normal, or StudentT with P = 3."""
    if params.shape[-1] == 3:
        return torch.distributions.StudentT(params[..., 2], params[..., 0], params[..., 1])
    return torch.distributions.Normal(params[..., 0], params[..., 1])
