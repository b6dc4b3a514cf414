"""The one-token step of the newer cells (minGRU, minLSTM, Mogrifier LSTM) as TorchScript-ready
layer modules for ``StepNet``, and ``build`` that makes them from a trained model.

Their products go through ``stepper.build_product`` (passed in as ``product``), so ``--precision
bf16`` and ``int8`` apply to them as to the classic cells; the norms, gates and states stay fp32.
A minGRU/minLSTM layer is the model's residual block (models/min_rnn.py) one token at a time;
a Mogrifier layer mogrifies x and h, then takes one LSTM product over [x, h].
"""

# No ``from __future__ import annotations``: TorchScript reads these annotations as objects.
import copy
from collections.abc import Callable
from typing import cast

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from recur.generate.step_modules import lstm_update
from recur.models.min_rnn import MinBlock, MinRNN
from recur.models.mogrifier import MogrifierLayer, MogrifierLSTM


def positive(x: Tensor) -> Tensor:
    """min_rnn.g: x + 0.5 for x >= 0, sigmoid(x) below."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


class MinBlockStep(nn.Module):
    """``x + cell(norm(x))``, then ``x + feedforward(norm(x))``; the top layer also applies the
    stack's final norm (``final``), so its output is what the decoder reads."""

    def __init__(self, block: MinBlock, product: Callable, final: nn.Module, slot: int):
        super().__init__()
        self.slot, self.mingru = slot, block.cell.kind == "mingru"
        self.norm, self.final = copy.deepcopy(block.norm).float(), copy.deepcopy(final).float()
        self.gates = product(block.cell.linear.weight.float(), block.cell.linear.bias.float())
        self.has_ff = bool(block.feedforward)
        self.ff_norm: nn.Module = nn.Identity()
        self.ff_in: nn.Module = nn.Identity()
        self.ff_out: nn.Module = nn.Identity()
        if self.has_ff:
            ff_in, ff_out = cast(nn.Linear, block.ff_in), cast(nn.Linear, block.ff_out)
            self.ff_norm = copy.deepcopy(block.ff_norm).float()
            self.ff_in = product(ff_in.weight.float(), ff_in.bias.float())
            self.ff_out = product(ff_out.weight.float(), ff_out.bias.float())

    def forward(self, x: Tensor, states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        h = states[self.slot]
        k = self.gates(self.norm(x))
        if self.mingru:
            k_z, k_h = k.chunk(2, 1)
            h = torch.lerp(h, positive(k_h), torch.sigmoid(k_z))
        else:
            k_f, k_i, k_h = k.chunk(3, 1)
            f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
            h = (f * h + i * positive(k_h)) / (f + i)
        x = x + h
        if self.has_ff:
            x = x + self.ff_out(F.gelu(self.ff_in(self.ff_norm(x))))
        return self.final(x), [h]


class MogrifierStep(nn.Module):
    """Rounds of ``x = 2 sigmoid(Q h) x`` / ``h = 2 sigmoid(R x) h``, then the LSTM step."""

    def __init__(self, layer: MogrifierLayer, product: Callable, slot: int):
        super().__init__()
        self.slot = slot
        self.mogrify = nn.ModuleList(
            product(cast(nn.Linear, m).weight.float(), None) for m in layer.mogrify
        )
        self.joint = product(layer.gates.weight.float(), layer.gates.bias.float())

    def forward(self, x: Tensor, states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        h = states[self.slot]
        for index, round_ in enumerate(self.mogrify):
            if index % 2 == 0:
                x = 2 * torch.sigmoid(round_(h)) * x
            else:
                h = 2 * torch.sigmoid(round_(x)) * h
        h, c = lstm_update(self.joint(torch.cat([x, h], 1)), states[self.slot + 1])
        return h, [h, c]


def build(model: nn.Module, product: Callable) -> tuple[Tensor, list[nn.Module], Tensor | None]:
    """The (V, W) input table (embedding rows, through a minGRU/minLSTM stack's input
    projection), the layer modules and the (R, W) condition table (None: unconditioned)."""
    embedding = cast(nn.Embedding, model.embedding)
    table = embedding.weight.float()
    conditions = (
        cast(nn.Embedding, model.condition_embedding).weight.float() if model.conditioned else None
    )
    layers: list[nn.Module] = []
    if isinstance(model.rnn, MogrifierLSTM):
        for i, layer in enumerate(model.rnn.layers):
            layers.append(MogrifierStep(cast(MogrifierLayer, layer), product, 2 * i))
        return table.contiguous(), layers, conditions
    rnn = cast(MinRNN, model.rnn)
    if isinstance(rnn.input, nn.Linear):  # linear: folds into both tables
        weight = rnn.input.weight.float()
        table = table @ weight.t()
        conditions = None if conditions is None else conditions @ weight.t()
    top = len(rnn.layers) - 1
    for i, block in enumerate(rnn.layers):
        final = rnn.norm if i == top else nn.Identity()
        layers.append(MinBlockStep(cast(MinBlock, block), product, final, i))
    return table.contiguous(), layers, conditions
