"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"): recurrent cells whose
gates read only the input, so a whole chunk trains as one matrix product and a parallel scan.

A layer's state is h (B, H), kept positive (the paper's ``g``: x + 0.5 for x >= 0, else
sigmoid(x)), and each step is a convex mix ``h_t = a_t * h_{t-1} + b_t`` with 0 < a_t < 1:

- minGRU: ``z = sigmoid(W_z x)``, ``h_t = (1 - z) * h_{t-1} + z * g(W_h x)``;
- minLSTM: ``f, i = sigmoid(W_f x), sigmoid(W_i x)``, normalised to ``f / (f + i)`` and
  ``i / (f + i)``, ``h_t = f' * h_{t-1} + i' * g(W_h x)``.

Training runs the paper's log-space scan (``scan``: a cumulative sum and a log-cumulative-sum-exp
over time, no step loop), in blocks of ``SCAN_BLOCK`` steps carrying h between them, so the
scan's intermediates and the range of its cumulative sums stay bounded however long the chunk
(``--seq-length``). On the CPU, with the kernels on, ``kernels/min_scan`` steps the same
recurrence in the linear domain instead (far faster there; the gates stay one product).
``step`` is the same recurrence one token at a time (sampling).

Stacking follows the paper's language models and its reference implementation
(lucidrains/minGRU-pytorch): pre-norm residual blocks, ``x + cell(norm(x))`` then
``x + feedforward(norm(x))`` (``--feedforward`` times wider, GELU; 0: none), and a final norm.
Why: a layer whose gates ignore h is a per-channel linear recurrence, so the nonlinear mixing
across channels comes from depth and the feed-forward layers, and the residual path with
normalisation keeps that depth trainable. An input of another width is projected first.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from recur.kernels import min_scan

# Steps per scan block: bounds the magnitude of the cumulative log-gates (their fp32 rounding
# grows with it) and the size of the scan's temporaries.
SCAN_BLOCK = 256


def g(x: torch.Tensor) -> torch.Tensor:
    """The paper's positive activation: x + 0.5 for x >= 0, sigmoid(x) below."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: torch.Tensor) -> torch.Tensor:
    """log(g(x)), stable on both branches."""
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


def scan(log_a: torch.Tensor, log_b: torch.Tensor, h0: torch.Tensor | None) -> torch.Tensor:
    """h_t = a_t * h_{t-1} + b_t over time (dim 1) from log a, log b (B, T, H) and h0 (B, H)
    (None: zeros): h_t = A_t * h0 + A_t * sum_{s<=t} b_s / A_s with A_t = prod_{s<=t} a_s,
    the sum taken as a logcumsumexp so nothing under- or overflows. Returns (B, T, H)."""
    outs = []
    for start in range(0, log_a.shape[1], SCAN_BLOCK):
        la, lb = log_a[:, start : start + SCAN_BLOCK], log_b[:, start : start + SCAN_BLOCK]
        a_star = la.cumsum(1)
        h = torch.exp(a_star + torch.logcumsumexp(lb - a_star, 1))
        if h0 is not None:
            h = h + torch.exp(a_star) * h0[:, None]
        outs.append(h)
        h0 = h[:, -1]
    return outs[0] if len(outs) == 1 else torch.cat(outs, 1)


class MinCell(nn.Module):
    """One minGRU (``kind="mingru"``) or minLSTM layer of width H: ``forward(x (B, T, H),
    h0 (B, H) | None) -> h (B, T, H)`` by the scan, ``step(x (B, H), h) -> h`` one token."""

    def __init__(self, kind: str, hidden_size: int):
        super().__init__()
        self.kind = kind
        gates = 2 if kind == "mingru" else 3
        # rows: (z, h~) for minGRU, (f, i, h~) for minLSTM
        self.linear = nn.Linear(hidden_size, gates * hidden_size)

    def log_coefficients(self, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Gate pre-activations (..., G*H) -> log a, log b of h_t = a_t h_{t-1} + b_t."""
        if self.kind == "mingru":
            k_z, k_h = k.chunk(2, -1)
            return -F.softplus(k_z), -F.softplus(-k_z) + log_g(k_h)  # log(1 - z), log(z g)
        k_f, k_i, k_h = k.chunk(3, -1)
        diff = F.softplus(-k_f) - F.softplus(-k_i)  # log i - log f
        return -F.softplus(diff), -F.softplus(-diff) + log_g(k_h)  # log f', log(i' g)

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
        k = self.linear(x)  # (B, T, G*H): every step's gates in one product
        if min_scan.usable(k):
            return min_scan.scan(self.kind, k, h0)
        wide = torch.promote_types(k.dtype, torch.float32)  # the scan runs in fp32 at least
        log_a, log_b = self.log_coefficients(k.to(wide))
        return scan(log_a, log_b, None if h0 is None else h0.to(wide)).to(x.dtype)

    def step(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return update(self.kind, self.linear(x), h)


def update(kind: str, k: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """One step of the recurrence from gate pre-activations k (B, G*H) and h (B, H)."""
    if kind == "mingru":
        k_z, k_h = k.chunk(2, 1)
        return torch.lerp(h, g(k_h), torch.sigmoid(k_z))  # (1 - z) h + z g
    k_f, k_i, k_h = k.chunk(3, 1)
    f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
    return (f * h + i * g(k_h)) / (f + i)


class MinBlock(nn.Module):
    """``x + cell(norm(x))``, then ``x + feedforward(norm(x))`` (dropout on each branch)."""

    def __init__(self, kind: str, hidden_size: int, feedforward: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(hidden_size)
        self.cell = MinCell(kind, hidden_size)
        self.feedforward = feedforward > 0
        if self.feedforward:
            self.ff_norm = nn.LayerNorm(hidden_size)
            self.ff_in = nn.Linear(hidden_size, feedforward * hidden_size)
            self.ff_out = nn.Linear(feedforward * hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None) -> tuple:
        h = self.cell(self.norm(x), h0)  # (B, T, H)
        x = x + self.dropout(h)
        if self.feedforward:
            x = x + self.dropout(self.ff_out(F.gelu(self.ff_in(self.ff_norm(x)))))
        return x, h[:, -1]


class MinRNN(nn.Module):
    """A stack of ``num_layers`` minGRU or minLSTM blocks: ``forward(x (B, T, I), state) ->
    (out (B, T, H), state)``, the state ``(h,)`` with h (num_layers, B, H) as for nn.GRU."""

    def __init__(
        self,
        kind: str,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        dropout: float = 0.0,
        feedforward: int = 2,
    ):
        super().__init__()
        self.input = (
            nn.Identity()
            if input_size == hidden_size
            else nn.Linear(input_size, hidden_size, bias=False)
        )
        self.layers = nn.ModuleList(
            MinBlock(kind, hidden_size, feedforward, dropout) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(hidden_size)

    def forward(self, x: torch.Tensor, state: tuple | None = None, projected=False) -> tuple:
        """``projected``: x is already ``input(x)`` (the language model's folded table)."""
        x = x if projected else self.input(x)  # (B, T, H)
        last = []
        for index, layer in enumerate(self.layers):
            x, h = layer(x, None if state is None else state[0][index])
            last.append(h)
        return self.norm(x), (torch.stack(last),)
