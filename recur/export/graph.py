"""Models -> ONNX graphs: the wrappers that fix a graph's interface, and the one place that knows
what a kind of model carries as state and which models cannot be exported (and why).

A language model (text or music) becomes ``ids (batch, steps), *state -> logits (batch, steps,
vocab), *new state``: the graph is the model's own ``forward(ids, state)``, traced, so any cell
whose forward keeps to ordinary tensor ops exports with no code here. Only the names of the
state tensors come from ``STATE_NAMES`` (a cell it does not list gets ``state0``, ``state1``...);
their shapes and which axis is the batch are read from ``model.initial_state``. A conditional
model's (batch, columns) condition rows are its last state tensor, ``conditions`` (int64): the
condition tokens themselves arrive in ``ids``, as in training. A classifier becomes ``ids (batch,
steps), lengths (batch,) -> logits (batch, classes)``.

The traced graph uses PyTorch's TorchScript exporter (``dynamo=False``: the newer exporter needs
onnxscript, which the export extra does not install), with the kernels off (their private ops
have no ONNX form).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from recur.errors import RecurError
from recur.export import symbolics
from recur.kernels import PORTABLE

STATE_NAMES = {
    "lstm": ("h", "c"),
    "gru": ("h",),
    "rnn": ("h",),
    "mingru": ("h",),
    "minlstm": ("h",),
    "mogrifier": ("h", "c"),
}
CONDITIONS = "conditions"
OPSET = symbolics.OPSET


@dataclass
class StateSpec:
    """One state tensor of a graph: its name, shape at batch 1, dtype and batch axis."""

    name: str
    shape: tuple
    dtype: torch.dtype
    batch_axis: int

    def zeros(self, batch: int) -> torch.Tensor:
        shape = list(self.shape)
        shape[self.batch_axis] = batch
        return torch.zeros(shape, dtype=self.dtype)


class LanguageGraph(nn.Module):
    """``forward(ids, *state) -> (logits, *state)``: the flat signature an ONNX graph needs."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor, *state: torch.Tensor) -> tuple:
        logits, new_state = self.model(ids, tuple(state))
        return (logits, *new_state)


UNEXPORTABLE_CELLS = {
    "mingru": "its parallel scan needs logcumsumexp, which ONNX lacks (and a scan over an "
    "unknown number of steps cannot be traced)",
    "minlstm": "its parallel scan needs logcumsumexp, which ONNX lacks (and a scan over an "
    "unknown number of steps cannot be traced)",
    "mogrifier": "its loop over time would be traced for one fixed number of steps",
}


def refusal(kind: str, checkpoint: Path, rnn_only: bool = False, cell: str = "") -> str | None:
    """Why the run of this kind saved in ``checkpoint`` cannot be exported, or None."""
    if cell in UNEXPORTABLE_CELLS:
        return f"--cell {cell} does not export to ONNX yet: {UNEXPORTABLE_CELLS[cell]}"
    linear = checkpoint / "linear.json"
    if kind != "classifier" or rnn_only or not linear.is_file():
        return None
    weight = json.loads(linear.read_text(encoding="utf-8")).get("blend_weight") or 0.0
    if weight > 0:
        return (
            f"its predictions blend in a TF-IDF model (--blend tfidf, weight {weight:g}), which "
            "has no ONNX form; add --rnn-only to export the recurrent classifier alone (its "
            "labels can then differ from recur predict's), or train with --blend none"
        )
    return None


def state_specs(model: Any) -> list[StateSpec]:
    """The state tensors of a language model, named, with their batch axis (the axis that grows
    from ``initial_state(1)`` to ``initial_state(2)``)."""
    one, two = model.initial_state(1), model.initial_state(2)
    config = model.config
    names = list(STATE_NAMES.get(config.cell, ()))
    if getattr(model, "conditioned", False):
        names = names[: len(one) - 1] + [CONDITIONS]
    if len(names) != len(one):
        names = [f"state{i}" for i in range(len(one))]
    specs = []
    for name, a, b in zip(names, one, two):
        axes = [i for i, (x, y) in enumerate(zip(a.shape, b.shape)) if x != y]
        if len(axes) != 1:
            raise RecurError(f"cannot export: the state tensor {name} has no single batch axis")
        specs.append(StateSpec(name, tuple(a.shape), a.dtype, axes[0]))
    return specs


@contextlib.contextmanager
def _plain_pytorch():
    """The kernels off (and the exporter's deprecation chatter quiet) for the trace."""
    before = os.environ.get(PORTABLE)
    os.environ[PORTABLE] = "1"
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            yield
    finally:
        if before is None:
            os.environ.pop(PORTABLE, None)
        else:
            os.environ[PORTABLE] = before


def write_language_graph(model: Any, path: Path) -> list[StateSpec]:
    """Trace ``model`` (eval mode) into an ONNX file; returns its state tensors."""
    specs = state_specs(model)
    ids = torch.full((2, 3), 4, dtype=torch.long).clamp(max=model.config.vocab_size - 1)
    state = tuple(spec.zeros(2) for spec in specs)
    names = [spec.name for spec in specs]
    axes = {"ids": {0: "batch", 1: "steps"}, "logits": {0: "batch", 1: "steps"}}
    for spec in specs:
        axes[spec.name] = axes[f"new_{spec.name}"] = {spec.batch_axis: "batch"}
    _export(
        LanguageGraph(model),
        (ids, *state),
        path,
        ["ids", *names],
        ["logits", *[f"new_{n}" for n in names]],
        axes,
    )
    return specs


def write_classifier_graph(model: Any, path: Path) -> None:
    first = model.members[0] if hasattr(model, "members") else model  # an ensemble's members
    ids = torch.full((2, 3), 4, dtype=torch.long).clamp(max=first.config.vocab_size - 1)
    lengths = torch.tensor([3, 2])
    axes = {"ids": {0: "batch", 1: "steps"}, "lengths": {0: "batch"}, "logits": {0: "batch"}}
    _export(model, (ids, lengths), path, ["ids", "lengths"], ["logits"], axes)


def _export(module, args, path: Path, inputs: list, outputs: list, axes: dict) -> None:
    module.eval()
    with _plain_pytorch(), contextlib.redirect_stdout(io.StringIO()):
        symbolics.register()
        try:
            torch.onnx.export(
                module,
                args,
                str(path),
                dynamo=False,
                input_names=inputs,
                output_names=outputs,
                dynamic_axes=axes,
                opset_version=OPSET,
            )
        except Exception as error:  # any operator the exporter lacks: one line, not a trace
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
            raise RecurError(f"cannot export this model to ONNX: {first}") from None
