"""The Mogrifier LSTM (Melis, Kocisky and Blunsom 2020, "Mogrifier LSTM"): before each LSTM step
the input x and the previous output h gate each other for ``rounds`` rounds,

    round i odd:  x = 2 * sigmoid(Q_i h) * x        round i even:  h = 2 * sigmoid(R_i x) * h

and the LSTM step then reads the mogrified pair (0 rounds: a plain LSTM). The paper's best
character and word models used 5 or 6 rounds, full-rank Q and R, no biases in them.

Stacking is the paper's: plain stacked layers, each layer's h the next one's input, dropout
between them, as an nn.LSTM stacks. The gates are stored in (i, f, o, g) order so that one
sigmoid covers three of them (as the one-token sampler's LSTM does). The state is ``(h, c)``,
each (num_layers, B, H), as nn.LSTM's. x depends on h at every step, so no input product can be
hoisted out of the loop over time: training takes one step at a time.
"""

from __future__ import annotations

import torch
from torch import nn


def lstm_cell(gates: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(h, c) from gates (B, 4H) in (i, f, o, g) order."""
    size = c.shape[1]
    sig = torch.sigmoid(gates[:, : 3 * size])
    c = torch.addcmul(sig[:, size : 2 * size] * c, sig[:, :size], torch.tanh(gates[:, 3 * size :]))
    return sig[:, 2 * size :] * torch.tanh(c), c


class MogrifierLayer(nn.Module):
    """One layer: ``step(x (B, I), h, c) -> (h, c)``; ``forward`` loops it over (B, T, I)."""

    def __init__(self, input_size: int, hidden_size: int, rounds: int):
        super().__init__()
        self.rounds = rounds
        # round 1, 3, ... reads h into x (H -> I); round 2, 4, ... reads x into h (I -> H)
        self.mogrify = nn.ModuleList(
            nn.Linear(hidden_size, input_size, bias=False)
            if i % 2 == 0
            else nn.Linear(input_size, hidden_size, bias=False)
            for i in range(rounds)
        )
        self.gates = nn.Linear(input_size + hidden_size, 4 * hidden_size)  # (i, f, o, g)

    def mogrified(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for i, product in enumerate(self.mogrify):
            if i % 2 == 0:
                x = 2 * torch.sigmoid(product(h)) * x
            else:
                h = 2 * torch.sigmoid(product(x)) * h
        return x, h

    def step(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple:
        x, h = self.mogrified(x, h)
        return lstm_cell(self.gates(torch.cat([x, h], 1)), c)

    def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple:
        outs = []
        for x_t in x.unbind(1):
            h, c = self.step(x_t, h, c)
            outs.append(h)
        return torch.stack(outs, 1), h, c  # (B, T, H)


class MogrifierLSTM(nn.Module):
    """Stacked Mogrifier layers: ``forward(x (B, T, I), state) -> (out (B, T, H), (h, c))``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        dropout: float = 0.0,
        rounds: int = 5,
    ):
        super().__init__()
        self.hidden_size = hidden_size
        sizes = [input_size] + [hidden_size] * (num_layers - 1)
        self.layers = nn.ModuleList(MogrifierLayer(size, hidden_size, rounds) for size in sizes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, state: tuple | None = None) -> tuple:
        if state is None:
            zeros = x.new_zeros(len(self.layers), x.shape[0], self.hidden_size)
            state = (zeros, zeros)
        hs, cs = [], []
        for index, layer in enumerate(self.layers):
            if index:
                x = self.dropout(x)
            x, h, c = layer(x, state[0][index], state[1][index])
            hs.append(h)
            cs.append(c)
        return x, (torch.stack(hs), torch.stack(cs))
