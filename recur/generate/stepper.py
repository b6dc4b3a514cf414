"""One token at a time for sampling: the model's weights rearranged so that a step is a few
matrix products with little Python around them, optionally in bf16 or int8.

A single sampling stream is bound by reading the weights once per token, many streams by compute.
Compared with calling ``nn.LSTM`` on a length-1 sequence this (a) skips oneDNN's one-step call,
which costs far more than the step's products on CPU, (b) folds the embedding into the first
layer's input weights (a (V, G*H) table, so layer 0 needs one row lookup instead of a product;
over ``TABLE_ELEMENTS``, a word model's, the embedding row goes through the product instead: the
table would be G*H/E times the embedding, 67 MB for 10,452 words into a 400-wide LSTM),
(c) fuses the input and recurrent products of the upper LSTM layers into one product over
``[x, h]``, (d) moves the LSTM's tanh gate last, (i, f, o, g), so one sigmoid covers three gates,
and (e) runs the step as TorchScript (``step_modules.py``), so that ``draw`` samples whole blocks
of tokens with no Python in between.

``precision`` chooses how the products' weights are stored: ``fp32`` (exact: the same numbers
as the model), ``bf16`` (half the bytes; AVX-512 BF16 CPUs and GPUs multiply it natively), or
``int8`` (a quarter of the bytes: per-row int8 weights and inputs quantized on the fly, CPU
only, through ``recur.kernels.quantized``). The gates, states and softmax stay fp32 throughout.
With the kernels off (``RECUR_PORTABLE``) int8 falls back to fp32, with a warning.
GRU gate order follows PyTorch: (r, z, n).
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import cast

import torch
from torch import nn

from recur.errors import RecurError
from recur.generate import cell_steps
from recur.generate import step_modules as steps
from recur.kernels import quantized
from recur.models.cells import CLASSIC, state_count
from recur.models.language_model import RecurrentLM

PRECISIONS = ("fp32", "bf16", "int8")
# A product whose weight has fewer elements than this stays fp32 whatever the precision: it sits
# in the cache anyway, and converting its input costs more than the bytes saved.
SMALL_PRODUCT = 65_536
# The largest (V, G*H) input table built: more, and layer 0 multiplies the embedding row instead
TABLE_ELEMENTS = 1 << 22
PORTABLE_INT8 = (
    "--precision int8 needs PyTorch's quantized ops, off under --portable: sampling in fp32"
)


def build_product(weight: torch.Tensor, bias: torch.Tensor | None, precision: str) -> nn.Module:
    """A module for ``x (B, K) -> x @ weight.T + bias`` with the weight (N, K) in ``precision``
    (fp32 whatever the precision when the weight is small)."""
    if weight.numel() < SMALL_PRODUCT or precision == "fp32":
        return steps.Fp32Product(weight, bias)
    if precision == "bf16":
        return steps.Bf16Product(weight, bias)
    if weight.device.type != "cpu":
        raise RecurError("--precision int8 samples on the CPU only; use bf16 on a GPU")
    return steps.Int8Product(weight, bias)


def usable_precision(precision: str) -> str:
    """``precision`` checked, and fp32 (with a warning) for int8 with the kernels off."""
    if precision not in PRECISIONS:
        raise RecurError(f"--precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "int8" and not quantized.available():
        warnings.warn(PORTABLE_INT8, stacklevel=3)
        return "fp32"
    return precision


def _lstm_order(hidden_size: int) -> torch.Tensor:
    """Rows of PyTorch's (i, f, g, o) gate blocks rearranged as (i, f, o, g)."""
    h = hidden_size
    return torch.cat(
        [torch.arange(0, 2 * h), torch.arange(3 * h, 4 * h), torch.arange(2 * h, 3 * h)]
    )


class Stepper:
    """``stepper(tokens (B,), layers) -> (logits (B, V), layers)``; ``layers`` is a flat list
    of (B, H) states: ``h, c`` per layer for an LSTM or Mogrifier, ``h`` for the others, then
    the (B, C) condition rows of a model with a condition embedding. ``draw`` runs many
    sampling steps. ``script=False`` keeps the step in Python (the scripted one is checked
    against it)."""

    def __init__(self, model: RecurrentLM, precision: str = "fp32", script: bool = True):
        precision = usable_precision(precision)
        self.cell, self.precision = model.config.cell, precision
        self.slots = state_count(self.cell)  # state tensors per layer
        self.num_layers = model.config.num_layers
        self.conditioned = getattr(model, "conditioned", False)
        with torch.no_grad():
            self.net: steps.StepNet | torch.jit.ScriptModule = self._build(model, precision)
        self.scripted = script and not getattr(model, "adaptive", False)
        if self.scripted:
            scripted = _script(self.net)
            self.scripted = scripted is not None
            self.net = scripted if scripted is not None else self.net

    def _weights(self, rnn: nn.Module, kind: str, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        weight, bias = (
            getattr(rnn, f"weight_{kind}_l{index}"),
            getattr(rnn, f"bias_{kind}_l{index}"),
        )
        if self.cell == "lstm":
            order = _lstm_order(weight.shape[0] // 4).to(weight.device)  # (4H, .) rows
            return weight[order].float(), bias[order].float()
        return weight.float(), bias.float()

    def _build(self, model: RecurrentLM, precision: str) -> steps.StepNet:
        if self.cell not in CLASSIC:
            product = partial(build_product, precision=precision)
            return self._net(model, *cell_steps.build(model, product), precision)
        rnn, slots = model.rnn, self.slots
        w_ih0, b_ih0 = self._weights(rnn, "ih", 0)
        embedding = model.embedding.weight.float()
        # an LSTM's two layer-0 biases add: b_hh joins the input side (the table or the product)
        bias = b_ih0 + self._weights(rnn, "hh", 0)[1] if self.cell == "lstm" else b_ih0
        first: nn.Module | None = None
        if embedding.shape[0] * w_ih0.shape[0] > TABLE_ELEMENTS:  # products per step instead
            table, first = embedding.contiguous(), steps.Fp32Product(w_ih0, bias)
        else:
            table = (embedding @ w_ih0.t() + bias).contiguous()
        layers: list[nn.Module] = []
        for i in range(self.num_layers):
            w_hh, b_hh = self._weights(rnn, "hh", i)
            if i == 0 and self.cell == "lstm":  # its recurrent bias is in the input side
                layers.append(steps.LSTMFirst(build_product(w_hh, None, precision), 0))
            elif self.cell == "lstm":  # one product over [x, h] (B, 2H), both biases
                w_ih, b_ih = self._weights(rnn, "ih", i)
                joint = build_product(torch.cat([w_ih, w_hh], 1), b_ih + b_hh, precision)
                layers.append(steps.LSTMUpper(joint, slots * i))
            else:
                inputs = (
                    steps.Passthrough()
                    if i == 0
                    else build_product(*self._weights(rnn, "ih", i), precision)
                )
                kind = steps.GRULayer if self.cell == "gru" else steps.RNNLayer
                layers.append(kind(inputs, build_product(w_hh, b_hh, precision), slots * i))
        conditions = (
            model.condition_embedding.weight.float() @ w_ih0.t() if self.conditioned else None
        )
        return self._net(model, table, layers, conditions, precision, first)

    def _net(
        self, model: RecurrentLM, table, layers, conditions, precision: str, first=None
    ) -> steps.StepNet:
        """The StepNet over ``layers`` with the model's decoder (and condition rows)."""
        decoder: nn.Module
        if getattr(model, "adaptive", False):
            decoder = steps.AdaptiveDecoder(cast(nn.AdaptiveLogSoftmaxWithLoss, model.decoder))
        else:
            weight, bias = (
                cast(torch.Tensor, p) for p in (model.decoder.weight, model.decoder.bias)
            )
            decoder = build_product(weight.float(), bias.float(), precision)
        if conditions is None:
            return steps.StepNet(table, layers, decoder, first=first)
        lookup = cast(torch.Tensor, model.condition_lookup)
        return steps.StepNet(table, layers, decoder, conditions, lookup, first)

    def to_layers(self, state) -> list:
        carried = [state[-1]] if self.conditioned else []
        if self.slots == 2:
            return [
                t for h, c in zip(state[0].unbind(0), state[1].unbind(0)) for t in (h, c)
            ] + carried
        return list(state[0].unbind(0)) + carried

    def from_layers(self, layers: list) -> tuple:
        carried = (layers[-1],) if self.conditioned else ()
        if self.slots == 2:
            return (
                torch.stack(layers[0 : 2 * self.num_layers : 2]),
                torch.stack(layers[1 : 2 * self.num_layers : 2]),
            ) + carried
        return (torch.stack(layers[: self.num_layers]),) + carried

    def __call__(self, tokens: torch.Tensor, layers: list) -> tuple[torch.Tensor, list]:
        with torch.no_grad():
            return self.net(tokens, layers)

    def draw(
        self,
        last: torch.Tensor,
        layers: list,
        noise: torch.Tensor,
        eos: int = -1,
        ended: torch.Tensor | None = None,
        sampler=None,
        refresh: int | None = None,
        marks: torch.Tensor | None = None,
        guidance=None,
    ) -> tuple:
        """``len(noise)`` sampling steps from ``last`` (B, V) logits: each token is
        ``argmax(last + noise[k])`` (noise (S, B, V): temperature-scaled Gumbel noise, banned ids at
        -inf; see sampling.py), ``last`` first banned and restricted as ``sampler`` (a
        ``TokenSampler``) says, and is then fed; after a ``refresh`` id, a row's ``marks``
        (B, C) follow. With ``guidance`` (generate.Guidance) the B rows are its groups of N
        samples and tokens are drawn from the guided scores (see ``StepNet.draw``). Returns
        (tokens (S, N), last, layers, ended)."""
        groups, weight = (1, 0.0) if guidance is None else (guidance.groups, guidance.weight)
        ended = (
            torch.zeros(last.shape[0] // groups, dtype=torch.bool, device=last.device)
            if ended is None
            else ended
        )
        banned = last.new_zeros(0, dtype=torch.long) if sampler is None else sampler.banned
        temperature, top_k, top_p = (
            (1.0, 0, 1.0)
            if sampler is None
            else (sampler.temperature, sampler.top_k, sampler.top_p)
        )
        if refresh is None or marks is None:
            refresh, marks = -1, banned.new_zeros(0, 0)
        with torch.no_grad():
            return self.net.draw(
                last,
                layers,
                noise,
                eos,
                ended,
                banned,
                temperature,
                top_k,
                top_p,
                refresh,
                marks,
                groups,
                float(weight),
            )

    def refresh(
        self, at_line: torch.Tensor, marks: torch.Tensor, last: torch.Tensor, layers: list
    ) -> tuple:
        """Rows where ``at_line`` (B,) are fed their condition tokens ``marks`` (B, C)."""
        with torch.no_grad():
            return self.net.refresh(at_line, marks, last, layers)


def stepper_for(model, precision: str = "fp32"):
    """The one-token step of ``model``: its own where it brings one (an exported graph run by
    onnxruntime, recur.export.runtime), else a ``Stepper`` over its weights."""
    own = getattr(model, "stepper", None)
    return own(precision) if own is not None else Stepper(model, precision)


def _script(net: steps.StepNet) -> torch.jit.ScriptModule | None:
    """``net`` compiled by TorchScript, or None where this PyTorch build cannot (the Python
    modules then run the same step, only slower)."""
    try:
        with warnings.catch_warnings():  # newer PyTorch releases mark TorchScript deprecated
            warnings.simplefilter("ignore")
            return torch.jit.script(net)
    except Exception:  # any failure to compile leaves the Python step
        return None
