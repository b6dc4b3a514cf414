"""A numeric-sequence run (kind "series") -> an ONNX graph, its check against PyTorch, and the
graph run through onnxruntime (``OnnxSeriesNetwork``, called as ``SeriesNetwork`` is).

classify / regress: ``inputs (batch, steps, features), lengths (batch,) -> outputs (batch,
classes or targets)``: the packed recurrent encoder and its head, as in training (the logits,
or the standardised regression targets). forecast: ``inputs (batch, steps, features), *state
-> params (batch, steps, channels, P), *new state``: the DeepAR step network, the distribution
parameters of each next value in the window's scaled units. What surrounds the network (the
scaling, the lag and calendar inputs, drawing the sample paths and feeding them back) is
numpy-sized work left to the caller, as ``recur.series.forecast.sample_paths`` does it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from recur.config.options import from_dict
from recur.config.series_options import SeriesConfig
from recur.errors import RecurError
from recur.export.graph import _export
from recur.models.series import distribution_size, series_inputs

STATE_NAMES = {"lstm": ("h", "c"), "gru": ("h",), "rnn": ("h",)}
CHECK_ROWS, CHECK_STEPS = 8, 24  # the seeded inputs the graph is checked on


class ForecastGraph(nn.Module):
    """``forward(inputs, *state) -> (params, *state)``: the flat signature ONNX needs."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor, *state: torch.Tensor) -> tuple:
        params, new = self.model(inputs, state=state if len(state) > 1 else state[0])
        return (params, *(new if isinstance(new, tuple) else (new,)))


def _series(config: dict) -> SeriesConfig:
    return from_dict(SeriesConfig, config["series"])


def write_series_graph(bundle, path: Path) -> tuple[list, list]:
    """Trace the run's network into ``path``; returns its [name, dtype, shape] inputs, outputs."""
    series, model = _series(bundle.config), bundle.model
    features = series_inputs(series)
    inputs: list = [["inputs", "float32", ["batch", "steps", features]]]
    if series.task != "forecast":
        width = len(series.class_names) if series.task == "classify" else len(series.targets)
        axes = {"inputs": {0: "batch", 1: "steps"}, "lengths": {0: "batch"}}
        axes["outputs"] = {0: "batch"}
        pair = (torch.zeros(2, 3, features), torch.tensor([3, 2]))
        _export(model, pair, path, ["inputs", "lengths"], ["outputs"], axes)
        inputs.append(["lengths", "int64", ["batch"]])
        return inputs, [["outputs", "float32", ["batch", width]]]
    names = list(STATE_NAMES[bundle.config["model"]["cell"]])
    layers, hidden = model.rnn.num_layers, model.rnn.hidden_size
    state = tuple(torch.zeros(layers, 2, hidden) for _ in names)
    axes = {"inputs": {0: "batch", 1: "steps"}, "params": {0: "batch", 1: "steps"}}
    for name in names:
        axes[name] = axes[f"new_{name}"] = {1: "batch"}
        inputs.append([name, "float32", [layers, "batch", hidden]])
    example = (torch.zeros(2, 3, features), *state)
    news = [f"new_{n}" for n in names]
    _export(ForecastGraph(model), example, path, ["inputs", *names], ["params", *news], axes)
    params = ["batch", "steps", len(series.channels), distribution_size(series)]
    outputs: list = [["params", "float32", params]]
    outputs += [[f"new_{n}", "float32", [layers, "batch", hidden]] for n in names]
    return inputs, outputs


class OnnxSeriesNetwork:
    """An exported series network: ``model(inputs, lengths)`` (classify / regress) or
    ``model(inputs, state=...) -> (params, state)`` (forecast), torch tensors in and out."""

    training = False

    def __init__(self, graph, config: dict):
        self.graph, self.task = graph, _series(config).task
        self.state_names = [i.name for i in graph.get_inputs()[1:]]

    def eval(self):
        return self

    def train(self, mode: bool = True):
        return self

    def __call__(self, inputs: torch.Tensor, lengths=None, state=None) -> Any:
        fed = {"inputs": inputs.detach().cpu().numpy().astype(np.float32)}
        if self.task != "forecast":
            fed["lengths"] = np.asarray(lengths.cpu(), dtype=np.int64)
            return torch.from_numpy(self.graph.run(None, fed)[0])
        if state is None:  # the start of a series: zeros, as PyTorch's recurrent layers take
            hidden = self.graph.get_inputs()[1].shape
            zeros = np.zeros((hidden[0], len(fed["inputs"]), hidden[2]), np.float32)
            fed.update({name: zeros for name in self.state_names})
        else:
            tensors = state if isinstance(state, tuple) else (state,)
            for name, value in zip(self.state_names, tensors):
                fed[name] = value.detach().cpu().numpy().astype(np.float32)
        params, *new = (torch.from_numpy(a) for a in self.graph.run(None, fed))
        return params, (tuple(new) if len(new) > 1 else new[0])


@torch.no_grad()
def series_difference(bundle, exported) -> tuple[float, str]:
    """The largest |difference| between PyTorch's and the graph's outputs (and states) on
    seeded standard-normal inputs: rows of several lengths (classify / regress), or two chunks
    with the state carried between them (forecast)."""
    series, model = _series(bundle.config), bundle.model.eval()
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(CHECK_ROWS, CHECK_STEPS, series_inputs(series), generator=generator)
    sample = f"{CHECK_ROWS} seeded rows of {CHECK_STEPS} standard-normal steps"
    if series.task != "forecast":
        lengths = torch.linspace(CHECK_STEPS, 2, CHECK_ROWS).long()
        return float((model(inputs, lengths) - exported(inputs, lengths)).abs().max()), sample
    worst, state, state_onnx = 0.0, None, None
    for chunk in inputs.tensor_split(2, dim=1):
        params, state = model(chunk, state=state)
        params_onnx, state_onnx = exported(chunk, state=state_onnx)
        pairs = [(params, params_onnx)]
        if isinstance(state, tuple):
            pairs += list(zip(state, state_onnx))
        else:
            pairs.append((state, state_onnx))
        worst = max(worst, *(float((a - b).abs().max()) for a, b in pairs))
    return worst, sample


def refuse_int8(kind: str, int8: bool) -> None:
    if kind == "series" and int8:
        raise RecurError(
            "--int8 is for text models: a series network is a few thousand float parameters "
            "(drop --int8)"
        )
