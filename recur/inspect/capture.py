"""Activation capture: every layer's hidden (and LSTM cell) state at every step, and the gates.

``nn.LSTM`` and ``nn.GRU`` return only the last layer's hidden states and no gates, so each layer
runs on its own (a one-layer copy of the module's weights, the fast library call; a long text as
segments side by side, joined exactly: ``parallel``), and the gates
are then recomputed from the weights for all steps at once: given the hidden states h_t the module
returned, every gate at step t is a function of x_t and h_{t-1}, so the whole sequence is a few
matrix products. Only an LSTM's cell state needs a scan (c_t = f_t c_{t-1} + i_t g_t), a cheap
elementwise loop. Recomputing h_t from those gates and comparing it with the module's own h_t
checks the arithmetic (``Layer.error``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from recur.kernels.onednn import linear

CHUNK = 4096  # steps whose gates are held at once: bounds memory on long texts
MAX_STREAMS, MIN_SEGMENT = 16, 512  # a long text runs as up to 16 segments side by side
GATES = {"LSTM": ("input", "forget", "output"), "GRU": ("reset", "update")}


@dataclass
class Layer:
    """One layer's states over a text: ``states["h"]`` (T, H), for an LSTM also ``states["c"]``;
    ``gates[name]`` = (fraction of steps each unit's gate is left-saturated, right-saturated)."""

    name: str
    cell: str
    states: dict = field(default_factory=dict)
    gates: dict = field(default_factory=dict)
    error: float = 0.0  # largest |recomputed h - the module's h|
    gap: float = 0.0  # largest state difference left where the text's segments join


def single_layers(rnn: nn.RNNBase) -> list[nn.RNNBase]:
    """A stacked recurrent module -> one single-layer module per layer, sharing its weights."""
    layers = []
    for k in range(rnn.num_layers):
        size = rnn.input_size if k == 0 else rnn.hidden_size
        kwargs = {"nonlinearity": rnn.nonlinearity} if isinstance(rnn, nn.RNN) else {}
        cell: Any = type(rnn)
        layer = cell(size, rnn.hidden_size, batch_first=True, bias=rnn.bias, **kwargs)
        for name in ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if rnn.bias else ()):
            setattr(layer, f"{name}_l0", getattr(rnn, f"{name}_l{k}"))
        layers.append(layer.to(_weight(rnn, "weight_ih_l0").device))
    return layers


def cell_name(module: nn.RNNBase) -> str:
    return {"LSTM": "lstm", "GRU": "gru"}.get(module.mode, "rnn")


def capture_layer(module: nn.RNNBase, x: torch.Tensor, name: str, threshold: float):
    """Run one single-layer ``module`` over x (T, E) from a zero state: its Layer and its
    outputs (T, H), which feed the next layer."""
    with torch.no_grad():
        out, gap = sequential(module, x)  # (T, H)
        hidden = out.shape[1]
        previous = torch.cat([out.new_zeros(1, hidden), out[:-1]])  # h_{t-1}
        layer = Layer(name, cell_name(module), gap=gap)
        counts = {gate: [np.zeros(hidden), np.zeros(hidden)] for gate in GATES.get(module.mode, ())}
        cells, carry = [], np.zeros(hidden, dtype=np.float32)
        for start in range(0, out.shape[0], CHUNK):
            end = min(start + CHUNK, out.shape[0])
            gi = linear(x[start:end].float(), _weight(module, "weight_ih_l0"), _bias(module, "ih"))
            gh = linear(previous[start:end], _weight(module, "weight_hh_l0"), _bias(module, "hh"))
            gi, gh = gi.cpu(), gh.cpu()  # the rest is elementwise, with numpy
            if module.mode == "LSTM":
                recomputed, gates, cell = _lstm(gi + gh, carry)
                cells.append(cell)
                carry = cell[-1]
            elif module.mode == "GRU":
                recomputed, gates = _gru(gi, gh, previous[start:end].cpu())
            else:
                summed = gi + gh
                recomputed = torch.tanh(summed) if module.mode == "RNN_TANH" else summed.relu()
                gates = {}
            for gate, values in gates.items():
                values = values.numpy()
                counts[gate][0] += np.count_nonzero(values < threshold, axis=0)
                counts[gate][1] += np.count_nonzero(values > 1 - threshold, axis=0)
            error = float((recomputed - out[start:end].cpu()).abs().max()) if end > start else 0.0
            layer.error = max(layer.error, error)
        steps = max(out.shape[0], 1)
        layer.gates = {
            gate: (left / steps, right / steps) for gate, (left, right) in counts.items()
        }
        layer.states["h"] = out.cpu().numpy()
        if cells:
            layer.states["c"] = np.concatenate(cells)
    return layer, out


def sequential(module: nn.RNNBase, x: torch.Tensor, tolerance: float = 1e-5):
    """The module's own outputs (T, H) for one sequence x (T, E) from a zero state, and how far
    apart the segments' joins ended (see the module docstring of ``parallel``)."""
    streams = max(1, min(MAX_STREAMS, x.shape[0] // MIN_SEGMENT))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the steps are dispatch- and memory-bound: a 2nd thread only waits
    try:
        return parallel(module, x.float(), streams, tolerance)
    finally:
        torch.set_num_threads(threads)


def parallel(module: nn.RNNBase, x: torch.Tensor, streams: int, tolerance: float):
    """One long sequence as ``streams`` segments run side by side as a batch (the weights are
    read once per step for all of them), repeated until each segment starts from the state the
    one before it ended in. After pass p the first p segments are exact, so ``streams`` passes
    reproduce the step-by-step run in any case; a network that forgets its starting state within
    a segment agrees after two passes. Returns the outputs (T, H) and the largest difference
    left at a join (0 when the segments end exactly where the next ones started)."""
    steps, hidden = x.shape[0], module.hidden_size
    length = -(-steps // streams)
    padded = torch.cat([x, x.new_zeros(streams * length - steps, x.shape[1])])
    batch = padded.reshape(streams, length, -1)
    count = 2 if module.mode == "LSTM" else 1
    starts = tuple(x.new_zeros(1, streams, hidden) for _ in range(count))
    for _ in range(streams):
        out, ends = module(batch, starts[0] if count == 1 else starts)
        ends = (ends,) if count == 1 else ends
        # Segment k should start where segment k - 1 ended; segment 0 starts from zeros.
        proposed = tuple(torch.cat([torch.zeros_like(e[:, :1]), e[:, :-1]], dim=1) for e in ends)
        gap = max(float((p - s).abs().max()) for p, s in zip(proposed, starts))
        starts = proposed
        if gap <= tolerance:
            break
    return out.reshape(streams * length, hidden)[:steps], gap


def _weight(module: nn.RNNBase, name: str) -> torch.Tensor:
    return cast(torch.Tensor, getattr(module, name))


def _bias(module: nn.RNNBase, which: str) -> torch.Tensor | None:
    return _weight(module, f"bias_{which}_l0") if module.bias else None


def _lstm(summed: torch.Tensor, carry: np.ndarray):
    """PyTorch's gate order i, f, g, o: the recomputed h, the sigmoid gates, the cell states."""
    i, f, g, o = summed.chunk(4, dim=1)
    i, f, o, g = i.sigmoid(), f.sigmoid(), o.sigmoid(), g.tanh()
    cell = scan(f.numpy(), (i * g).numpy(), carry)
    recomputed = o * torch.from_numpy(cell).tanh()
    return recomputed, {"input": i, "forget": f, "output": o}, cell


def scan(forget: np.ndarray, update: np.ndarray, carry: np.ndarray) -> np.ndarray:
    """c_t = forget_t * c_{t-1} + update_t over the rows, starting from ``carry``."""
    cell = np.empty_like(update)
    current = carry
    for t in range(update.shape[0]):
        np.multiply(forget[t], current, out=cell[t])
        cell[t] += update[t]
        current = cell[t]
    return cell


def _gru(gi: torch.Tensor, gh: torch.Tensor, previous: torch.Tensor):
    """PyTorch's order r, z, n: h_t = (1 - z) n + z h_{t-1}, n = tanh(W_in x + r (W_hn h + b))."""
    ir, iz, in_ = gi.chunk(3, dim=1)
    hr, hz, hn = gh.chunk(3, dim=1)
    r, z = (ir + hr).sigmoid(), (iz + hz).sigmoid()
    n = torch.tanh(in_ + r * hn)
    return (1 - z) * n + z * previous, {"reset": r, "update": z}


def lm_inputs(model, ids: torch.Tensor) -> torch.Tensor:
    """A language model's first-layer inputs (T, E) for ids (T,), condition embeddings added,
    exactly as ``RecurrentLM.forward`` forms them (in eval mode, where dropout is off)."""
    with torch.no_grad():
        x = model.embedding(ids[None])
        if getattr(model, "conditioned", False):
            rows, _ = model.track_conditions(ids[None], None)
            x = x + model.condition_embedding(rows).sum(2)
    return x[0]


def capture_lm(model, ids: torch.Tensor, threshold: float = 0.1):
    """Every layer of a ``RecurrentLM`` over ids (T,): the Layers and the top outputs (T, H)."""
    x, layers = lm_inputs(model, ids), []
    for k, module in enumerate(single_layers(model.rnn)):
        layer, x = capture_layer(module, x, str(k), threshold)
        layers.append(layer)
    return layers, x


def check(layers: list[Layer]) -> dict:
    """How closely the capture reproduces the module: the recomputed hidden states against the
    module's (``max_error``) and the state differences left at the segments' joins."""
    return {
        "max_error": max((layer.error for layer in layers), default=0.0),
        "max_join_gap": max((layer.gap for layer in layers), default=0.0),
    }
