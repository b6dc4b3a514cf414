"""The one-token step as small TorchScript-ready modules: products in fp32, bf16 or int8, one
module per recurrent layer, and ``StepNet`` that runs them, one token or many.

``stepper.py`` builds these from a trained model; they hold only the rearranged weights. State
is a flat list of (B, H) tensors, per layer ``h, c`` for an LSTM and ``h`` for a GRU or RNN, then
the (B, C) condition rows of a conditioned model. A layer module maps ``(x, states)`` to its
output (the next layer's input) and its own states; the newer cells' are in ``cell_steps.py``.
Scripted, ``StepNet.draw`` runs whole blocks of sampling steps with no Python between them,
several times faster than a Python loop over the same modules and noise (``python -m
benchmarks.sampling_ab``). The oneDNN and int8 products are ``recur.kernels``'
(``onednn.linear_rows``, ``quantized.Int8Linear``).
"""

# No ``from __future__ import annotations`` here: TorchScript reads the buffers' class
# annotations (``weight: Tensor``) as objects, and cannot resolve them as strings.
import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from recur.generate.sampling import ban_and_restrict
from recur.kernels import onednn, quantized

ONEDNN_FROM_ROWS = 4  # fewer rows (streams) go through addmm, faster there (docs/experiments.md)


class Fp32Product(nn.Module):
    """``x (B, K) -> x @ weight.T + bias (+ add)``. Through oneDNN's linear
    (``onednn.linear_rows``) where ``onednn.kernel()`` finds it, for ``ONEDNN_FROM_ROWS`` rows
    or more: many streams' products run much faster there on CPUs where MKL is the slower
    library. Fewer rows, or no oneDNN: addmm, with the weight kept as (K, N), which a
    one-stream step (weights cycling through the cache) ran faster from than from (N, K)."""

    weight: Tensor  # buffers: (K, N), (N, K) or empty, (N,)
    weight_rows: Tensor
    bias: Tensor

    def __init__(self, weight: Tensor, bias: Tensor | None):
        super().__init__()
        self.precision, self.has_bias = "fp32", bias is not None
        self.onednn = weight.device.type == "cpu" and onednn.kernel() is not None
        self.from_rows = ONEDNN_FROM_ROWS  # an attribute: TorchScript reads no globals
        self.register_buffer("weight", weight.t().contiguous())
        # oneDNN reads (N, K); kept beside (K, N) rather than instead of it, which one stream
        # through addmm reads faster
        self.register_buffer(
            "weight_rows", weight.contiguous() if self.onednn else weight.new_empty(0)
        )
        self.register_buffer(
            "bias",
            torch.zeros(weight.shape[0], device=weight.device)
            if bias is None
            else bias.contiguous(),
        )

    def forward(self, x: Tensor, add: Tensor | None = None) -> Tensor:
        if self.onednn and x.size(0) >= self.from_rows:
            out = onednn.linear_rows(x, self.weight_rows, self.bias)
            return out if add is None else out.add_(add)
        if add is None:
            return torch.addmm(self.bias, x, self.weight)
        if self.has_bias:
            return torch.addmm(self.bias, x, self.weight).add_(add)
        return torch.addmm(add, x, self.weight)


class Bf16Product(nn.Module):
    """The same product with the weight stored in bf16 (the input is rounded to bf16 too)."""

    weight: Tensor  # buffers: (N, K) bf16, (N,)
    bias: Tensor

    def __init__(self, weight: Tensor, bias: Tensor | None):
        super().__init__()
        self.precision = "bf16"
        self.register_buffer("weight", weight.to(torch.bfloat16).contiguous())
        self.register_buffer(
            "bias",
            torch.zeros(weight.shape[0], device=weight.device)
            if bias is None
            else bias.contiguous(),
        )

    def forward(self, x: Tensor, add: Tensor | None = None) -> Tensor:
        out = F.linear(x.to(torch.bfloat16), self.weight).float().add_(self.bias)
        return out if add is None else out.add_(add)


class Int8Product(nn.Module):
    """The same product through fbgemm (``quantized.Int8Linear``): int8 weight rows and the
    input quantized per call."""

    def __init__(self, weight: Tensor, bias: Tensor | None):
        super().__init__()
        self.precision, self.product = "int8", quantized.Int8Linear(weight, bias)

    def forward(self, x: Tensor, add: Tensor | None = None) -> Tensor:
        out = self.product(x)
        return out if add is None else out.add_(add)


class Passthrough(nn.Module):
    """The first layer's input products, already looked up from the (V, G*H) input table."""

    def forward(self, x: Tensor, add: Tensor | None = None) -> Tensor:
        return x


def guide(logits: Tensor, groups: int, weight: float) -> Tensor:
    """Guided scores (N, V) from the logits (G*N, V) of ``groups`` copies of N samples: the
    first under the wanted condition, the others under contrasting ones (generate.Guidance)."""
    logp = logits.float().log_softmax(-1).unflatten(0, (groups, -1))  # (G, N, V)
    main = logp[0]
    contrast = logp[1:].logsumexp(0) - math.log(groups - 1)
    return main + weight * (main - contrast)


def lstm_update(gates: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """(h, c) from gates (B, 4H) in (i, f, o, g) order: one sigmoid covers three gates."""
    size = c.shape[1]
    sig = gates[:, : 3 * size].sigmoid()
    c = torch.addcmul(sig[:, size : 2 * size] * c, sig[:, :size], gates[:, 3 * size :].tanh())
    return sig[:, 2 * size :] * c.tanh(), c


class LSTMFirst(nn.Module):
    """Layer 0: input products from the table, both biases in it; one product for h."""

    def __init__(self, hidden: nn.Module, slot: int):
        super().__init__()
        self.hidden, self.slot = hidden, slot

    def forward(self, x: Tensor, states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        gates = self.hidden(states[self.slot], x)
        h, c = lstm_update(gates, states[self.slot + 1])
        return h, [h, c]


class LSTMUpper(nn.Module):
    """Layers above: one product over [x, h] (B, 2H) with both biases."""

    def __init__(self, joint: nn.Module, slot: int):
        super().__init__()
        self.joint, self.slot = joint, slot

    def forward(self, x: Tensor, states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        gates = self.joint(torch.cat([x, states[self.slot]], 1))
        h, c = lstm_update(gates, states[self.slot + 1])
        return h, [h, c]


class GRULayer(nn.Module):
    """PyTorch's GRU, gates (r, z, n); ``inputs`` is ``Passthrough`` for layer 0."""

    def __init__(self, inputs: nn.Module, hidden: nn.Module, slot: int):
        super().__init__()
        self.inputs, self.hidden, self.slot = inputs, hidden, slot

    def forward(self, x: Tensor, states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        h = states[self.slot]
        i_r, i_z, i_n = self.inputs(x).chunk(3, 1)
        h_r, h_z, h_n = self.hidden(h).chunk(3, 1)
        r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        h = n + z * (h - n)
        return h, [h]


class RNNLayer(nn.Module):
    """A tanh RNN layer; ``inputs`` is ``Passthrough`` for layer 0."""

    def __init__(self, inputs: nn.Module, hidden: nn.Module, slot: int):
        super().__init__()
        self.inputs, self.hidden, self.slot = inputs, hidden, slot

    def forward(self, x: Tensor, states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        h = torch.tanh(self.hidden(states[self.slot], self.inputs(x)))
        return h, [h]


class StepNet(nn.Module):
    """``net(tokens (B,), states) -> (logits (B, V), states)``; ``draw`` runs many steps."""

    input_table: Tensor  # buffers, see __init__
    condition_table: Tensor
    condition_lookup: Tensor

    def __init__(
        self,
        input_table: Tensor,
        layers: list[nn.Module],
        decoder: nn.Module,
        condition_table: Tensor | None = None,
        condition_lookup: Tensor | None = None,
        first: nn.Module | None = None,
    ):
        super().__init__()
        self.conditioned = condition_table is not None
        # (V, G*H); or the embedding (V, E), with ``first`` making layer 0's input products
        self.register_buffer("input_table", input_table)
        self.first = Passthrough() if first is None else first
        empty = input_table.new_zeros(0)
        self.register_buffer(
            "condition_table", empty if condition_table is None else condition_table
        )  # (R, G*H)
        self.register_buffer(
            "condition_lookup", empty.long() if condition_lookup is None else condition_lookup
        )  # (C, V)
        self.layers, self.decoder = nn.ModuleList(layers), decoder

    def forward(self, tokens: Tensor, states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        # F.embedding is a plain row gather, several times faster than table[tokens]
        x = self.first(F.embedding(tokens, self.input_table))  # (B, G*H)
        carried: list[Tensor] = []
        if self.conditioned:
            marks = self.condition_lookup[:, tokens].t()  # (B, C)
            rows = torch.where(marks >= 0, marks, states[-1])
            x = x + self.condition_table[rows].sum(1)
            carried = [rows]
        new: list[Tensor] = []
        for layer in self.layers:  # each: (its output, the next layer's input; its states)
            x, out = layer(x, states)
            new += out
        return self.decoder(x), new + carried

    @torch.jit.export
    def draw(
        self,
        last: Tensor,
        states: list[Tensor],
        noise: Tensor,
        eos: int,
        ended: Tensor,
        banned: Tensor,
        temperature: float,
        top_k: int,
        top_p: float,
        refresh: int,
        marks: Tensor,
        groups: int,
        weight: float,
    ) -> tuple[Tensor, Tensor, list[Tensor], Tensor]:
        """``S = len(noise)`` sampling steps of N samples: token = argmax(scores + noise[k])
        (see sampling.py), the scores being ``last`` (G*N, V) combined over ``groups`` copies
        with ``weight`` (generate.Guidance; G = 1: ``last`` itself), then banned and restricted
        when ``top_k`` or ``top_p`` ask for it; each token is then fed to its G rows. With
        ``eos >= 0`` a sample that drew it keeps drawing it (``ended`` (N,) bool, updated in
        place). With ``refresh >= 0`` (a line-end id) a row that drew it is then fed its
        ``marks`` (G*N, C), its condition tokens. Returns the tokens (S, N), the last logits,
        the states and ``ended``."""
        tokens: list[Tensor] = []
        for k in range(noise.shape[0]):
            scores = last if groups == 1 else guide(last, groups, weight)
            scores = ban_and_restrict(scores, banned, temperature, top_k, top_p)
            token = (scores + noise[k]).argmax(-1)
            if eos >= 0:
                token = token.masked_fill(ended, eos)
                ended.logical_or_(token == eos)  # in place: the caller holds it
            tokens.append(token)
            fed = token if groups == 1 else token.repeat(groups)  # (G*N,)
            last, states = self.forward(fed, states)
            if refresh >= 0:
                last, states = self.refresh(fed == refresh, marks, last, states)
        return torch.stack(tokens), last, states, ended

    @torch.jit.export
    def refresh(
        self, at_line: Tensor, marks: Tensor, last: Tensor, states: list[Tensor]
    ) -> tuple[Tensor, list[Tensor]]:
        """Rows where ``at_line`` (B,) take their condition tokens ``marks`` (B, C) as input, as
        a run trained with ``--condition-every-line`` saw them after each line end."""
        if not bool(at_line.any()):
            return last, states
        fed_last, fed = last, states
        for column in range(marks.shape[1]):
            fed_last, fed = self.forward(marks[:, column], fed)
        keep = at_line[:, None]  # (B, 1)
        merged = [torch.where(keep, new, old) for new, old in zip(fed, states)]
        return torch.where(keep, fed_last, last), merged


class AdaptiveDecoder(nn.Module):
    """An adaptive softmax head's log-probabilities (stays in Python: not scripted)."""

    def __init__(self, head: nn.AdaptiveLogSoftmaxWithLoss):
        super().__init__()
        self.head = head

    def forward(self, x: Tensor) -> Tensor:
        return self.head.log_prob(x)
