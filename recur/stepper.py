"""One token at a time for sampling: the model's weights rearranged so that a step is a few
matrix products with little Python around them, optionally in bf16 or int8.

A single sampling stream is bound by reading the weights once per token, many streams by compute.
Compared with calling ``nn.LSTM`` on a length-1 sequence this (a) skips oneDNN's one-step call,
which costs about 1 ms on CPU, (b) folds the embedding into the first layer's input weights
(a (V, G*H) table, so layer 0 needs one row lookup instead of a product), (c) fuses the input
and recurrent products of the upper LSTM layers into one product over ``[x, h]``, and (d) moves
the LSTM's tanh gate last, (i, f, o, g), so one sigmoid covers three gates.

``precision`` chooses how the products' weights are stored: ``fp32`` (exact: the same numbers
as the model), ``bf16`` (half the bytes; AVX-512 BF16 CPUs and GPUs multiply it natively), or
``int8`` (a quarter of the bytes: per-row int8 weights and inputs quantized on the fly, CPU
only, through PyTorch's fbgemm kernels). The gates, states and softmax stay fp32 throughout.
GRU gate order follows PyTorch: (r, z, n).
"""
from __future__ import annotations

import warnings

import torch
from torch import nn
from torch.nn import functional as F

from .errors import RecurError

PRECISIONS = ("fp32", "bf16", "int8")
# A product whose weight has fewer elements than this stays fp32 whatever the precision: it sits
# in the cache anyway, and converting its input costs more than the bytes saved (a 512 x 65
# character decoder: 15 us per token as int8, 6 us as fp32 on the 2-core AMD EPYC).
SMALL_PRODUCT = 65_536


class Product:
    """``product(x (B, K), add=None) -> x @ weight.T + bias (+ add) (B, N)`` in fp32, the weight
    (N, K) stored in ``precision``."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, precision: str):
        if weight.numel() < SMALL_PRODUCT:
            precision = "fp32"
        self.precision, self.bias = precision, bias
        if precision == "fp32":
            # (K, N) for addmm: in a whole one-stream step (weights cycling through the cache)
            # this beat F.linear's (N, K) in most repeats on the 2-core AMD EPYC, by up to 1.5x
            self.weight = weight.t().contiguous()
        elif precision == "bf16":
            self.weight = weight.to(torch.bfloat16).contiguous()
        else:
            self.packed = _int8_pack(weight, bias)

    def __call__(self, x: torch.Tensor, add: torch.Tensor | None = None) -> torch.Tensor:
        if self.precision == "fp32":
            if add is None or self.bias is None:       # at most one term to add: one addmm
                start = self.bias if add is None else add
                return x @ self.weight if start is None else torch.addmm(start, x, self.weight)
            out = torch.addmm(self.bias, x, self.weight)
        elif self.precision == "bf16":
            out = F.linear(x.to(torch.bfloat16), self.weight).float()
            out = out if self.bias is None else out.add_(self.bias)
        else:
            out = torch.ops.quantized.linear_dynamic(x, self.packed, True)
        return out if add is None else out.add_(add)


def _int8_pack(weight: torch.Tensor, bias: torch.Tensor | None):
    """fbgemm's packed int8 weight, one scale per output row (symmetric, zero point 0)."""
    if weight.device.type != "cpu":
        raise RecurError("--precision int8 samples on the CPU only; use bf16 on a GPU")
    scales = (weight.abs().amax(1).clamp_min(1e-12) / 127).double()
    try:
        with warnings.catch_warnings():     # PyTorch marks the quantized tensor API deprecated
            warnings.simplefilter("ignore")
            quantized = torch.quantize_per_channel(weight.float(), scales,
                                                   torch.zeros_like(scales, dtype=torch.long),
                                                   0, torch.qint8)
            return torch.ops.quantized.linear_prepack(quantized, bias)
    except (RuntimeError, AttributeError) as error:
        raise RecurError(f"--precision int8 is not available in this PyTorch build ({error}); "
                         "use fp32 or bf16") from None


def _lstm_order(hidden_size: int) -> torch.Tensor:
    """Rows of PyTorch's (i, f, g, o) gate blocks rearranged as (i, f, o, g)."""
    h = hidden_size
    return torch.cat([torch.arange(0, 2 * h), torch.arange(3 * h, 4 * h), torch.arange(2 * h, 3 * h)])


class Stepper:
    """``stepper(tokens (B,), layers) -> (logits (B, V), layers)``; ``layers`` is a list with one
    state per layer: (h, c) for an LSTM, h for a GRU or RNN, each (B, H); a model with a
    condition embedding adds its (B, C) condition rows as the last entry."""

    def __init__(self, model: nn.Module, precision: str = "fp32"):
        if precision not in PRECISIONS:
            raise RecurError(f"--precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        self.cell, self.precision = model.config.cell, precision
        self.num_layers = model.config.num_layers
        self.conditioned = getattr(model, "conditioned", False)
        self._cell_step = {"lstm": self._lstm, "gru": self._gru, "rnn": self._rnn}[self.cell]
        with torch.no_grad():
            self._build(model, precision)

    def _weights(self, rnn: nn.Module, kind: str, index: int) -> tuple:
        weight, bias = getattr(rnn, f"weight_{kind}_l{index}"), getattr(rnn, f"bias_{kind}_l{index}")
        if self.cell == "lstm":
            order = _lstm_order(rnn.hidden_size).to(weight.device)
            return weight[order].float(), bias[order].float()
        return weight.float(), bias.float()

    def _build(self, model: nn.Module, precision: str) -> None:
        rnn = model.rnn
        w_ih0, b_ih0 = self._weights(rnn, "ih", 0)
        self.input_table = (model.embedding.weight.float() @ w_ih0.t() + b_ih0).contiguous()
        if self.conditioned:
            self.condition_table = model.condition_embedding.weight.float() @ w_ih0.t()  # (R, G*H)
            self.condition_lookup = model.condition_lookup                              # (C, V)
        self.hidden_products, self.input_products = [], []
        for i in range(self.num_layers):
            w_hh, b_hh = self._weights(rnn, "hh", i)
            if i == 0 and self.cell == "lstm":   # both biases add: b_hh joins the input table
                self.input_table += b_hh
                self.hidden_products.append(Product(w_hh, None, precision))
                self.input_products.append(None)
                continue
            if i == 0:
                self.hidden_products.append(Product(w_hh, b_hh, precision))
                self.input_products.append(None)
                continue
            w_ih, b_ih = self._weights(rnn, "ih", i)
            if self.cell == "lstm":   # both biases add: one product over [x, h] (B, 2H)
                self.hidden_products.append(None)
                self.input_products.append(Product(torch.cat([w_ih, w_hh], 1), b_ih + b_hh,
                                                   precision))
            else:
                self.hidden_products.append(Product(w_hh, b_hh, precision))
                self.input_products.append(Product(w_ih, b_ih, precision))
        self.adaptive = getattr(model, "adaptive", False)
        if self.adaptive:
            self.decoder = model.decoder                      # adaptive softmax: log_prob, fp32
        else:
            self.decoder = Product(model.decoder.weight.float(), model.decoder.bias.float(),
                                   precision)

    def to_layers(self, state) -> list:
        carried = [state[-1]] if self.conditioned else []
        if self.cell == "lstm":
            return [(h, c) for h, c in zip(state[0].unbind(0), state[1].unbind(0))] + carried
        return list(state[0].unbind(0)) + carried

    def from_layers(self, layers: list) -> tuple:
        carried = (layers[-1],) if self.conditioned else ()
        layers = layers[:self.num_layers]
        if self.cell == "lstm":
            return (torch.stack([h for h, _ in layers]), torch.stack([c for _, c in layers])) \
                + carried
        return (torch.stack(layers),) + carried

    def __call__(self, tokens: torch.Tensor, layers: list) -> tuple[torch.Tensor, list]:
        if torch.is_grad_enabled():     # the sampling loops already run in inference mode
            with torch.no_grad():
                return self._step(tokens, layers)
        return self._step(tokens, layers)

    def _step(self, tokens: torch.Tensor, layers: list) -> tuple[torch.Tensor, list]:
        step = self._cell_step
        # F.embedding is a plain row gather: about 2 us against 10 us for table[tokens]
        x, new_layers = F.embedding(tokens, self.input_table), []             # (B, G*H)
        if self.conditioned:
            marks = self.condition_lookup[:, tokens].t()                       # (B, C)
            rows = torch.where(marks >= 0, marks, layers[-1])
            x = x + self.condition_table[rows].sum(1)
        for index, state in enumerate(layers[:self.num_layers]):
            x, state = step(index, x, state)
            new_layers.append(state)
        if self.conditioned:
            new_layers.append(rows)
        if self.adaptive:
            return self.decoder.log_prob(x), new_layers
        return self.decoder(x), new_layers

    def _lstm(self, index, x, state):
        """Layer 0 gets its input products ready made (B, 4H); upper layers get h below (B, H)."""
        h, c = state
        if index == 0:
            gates = self.hidden_products[0](h, add=x)
        else:
            gates = self.input_products[index](torch.cat([x, h], 1))
        size = h.shape[1]
        sig = gates[:, :3 * size].sigmoid()
        i, f, o = sig.split(size, 1)
        c = torch.addcmul(f * c, i, gates[:, 3 * size:].tanh())
        h = o * c.tanh()
        return h, (h, c)

    def _gru(self, index, x, h):
        gi = x if index == 0 else self.input_products[index](x)
        gh = self.hidden_products[index](h)
        i_r, i_z, i_n = gi.chunk(3, 1)
        h_r, h_z, h_n = gh.chunk(3, 1)
        r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        h = n + z * (h - n)
        return h, h

    def _rnn(self, index, x, h):
        gi = x if index == 0 else self.input_products[index](x)
        h = torch.tanh(self.hidden_products[index](h, add=gi))
        return h, h
