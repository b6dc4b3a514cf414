"""Exported graphs run through onnxruntime, shaped like recur's own models so the generation
loop, beam search, evaluation and prediction use them unchanged.

``OnnxLanguageModel(ids, state, targets=None)`` answers as ``RecurrentLM.forward`` does (torch
tensors in and out) and brings its own one-token step (``stepper``): ``OnnxStepper`` has the
interface of ``generate.stepper.Stepper`` and draws tokens exactly as ``StepNet.draw`` does
(the same noise, bans and restrictions), so a seed gives the same text. Its per-row state list
holds the graph's state tensors with the batch axis moved first. ``OnnxClassifier(ids,
lengths)`` answers as ``RecurrentClassifier.forward``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from recur.errors import RecurError
from recur.export.series_graph import OnnxSeriesNetwork
from recur.extras import require
from recur.generate.sampling import ban_and_restrict
from recur.generate.step_modules import guide
from recur.runs.checkpoint import Bundle
from recur.runs.kinds import kind_of
from recur.tokenizers import load_tokenizer

GRAPH = "model.onnx"


def session(path: Path, threads: int | None = None):
    """An onnxruntime CPU session over the graph at ``path``."""
    ort = require("onnxruntime", "export", "running an exported model")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxLanguageModel:
    """An exported language model: ``model(ids (B, T), state) -> (logits (B, T, V), state)``."""

    training = False

    def __init__(self, graph, config: dict):
        self.graph, self.config = graph, config
        inputs = graph.get_inputs()[1:]
        self.state_names = [i.name for i in inputs]
        self.batch_axes = [[d == "batch" for d in i.shape].index(True) for i in inputs]
        self.state_shapes = [[d if isinstance(d, int) else 1 for d in i.shape] for i in inputs]
        self.state_types = [np.int64 if "int64" in i.type else np.float32 for i in inputs]

    def eval(self):
        return self

    def train(self, mode: bool = True):
        return self

    def zero_state(self, batch: int) -> list:
        """The state at the start of a text: zeros, with ``batch`` rows."""
        state = []
        for shape, axis, dtype in zip(self.state_shapes, self.batch_axes, self.state_types):
            shape = list(shape)
            shape[axis] = batch
            state.append(np.zeros(shape, dtype=dtype))
        return state

    def __call__(self, ids: torch.Tensor, state=None, targets: torch.Tensor | None = None):
        fed = ids.detach().cpu().numpy().astype(np.int64)
        arrays = (
            self.zero_state(fed.shape[0])
            if state is None
            else [s.detach().cpu().numpy() for s in state]
        )
        outputs = self.graph.run(None, {"ids": fed, **dict(zip(self.state_names, arrays))})
        logits = torch.from_numpy(outputs[0])
        new_state = tuple(torch.from_numpy(o) for o in outputs[1:])
        if targets is not None:  # as RecurrentLM: the mean cross-entropy instead of logits
            flat = logits.reshape(-1, logits.shape[-1]).float()
            return F.cross_entropy(flat, targets.reshape(-1).cpu()), new_state
        return logits, new_state

    def stepper(self, precision: str = "fp32") -> OnnxStepper:
        if precision != "fp32":
            raise RecurError(
                f"--precision {precision}: an exported graph keeps the precision it was "
                "exported with (export with --int8 for int8 weights)"
            )
        return OnnxStepper(self)


class OnnxStepper:
    """The generation loop's one-token step over an exported graph (see ``Stepper``)."""

    scripted = False

    def __init__(self, model: OnnxLanguageModel):
        self.model = model

    def to_layers(self, state) -> list:
        return [s.movedim(axis, 0) for s, axis in zip(state, self.model.batch_axes)]

    def from_layers(self, layers: list) -> tuple:
        return tuple(s.movedim(0, axis) for s, axis in zip(layers, self.model.batch_axes))

    def __call__(self, tokens: torch.Tensor, layers: list) -> tuple[torch.Tensor, list]:
        logits, state = self.model(tokens[:, None], self.from_layers(layers))
        return logits[:, -1], self.to_layers(state)

    def draw(self, last, layers, noise, eos=-1, ended=None, sampler=None, refresh=None, marks=None,
             guidance=None) -> tuple:  # fmt: skip
        """As ``Stepper.draw``: ``len(noise)`` steps, token = argmax(scores + noise[k])."""
        groups, weight = (1, 0.0) if guidance is None else (guidance.groups, guidance.weight)
        if ended is None:
            ended = torch.zeros(last.shape[0] // groups, dtype=torch.bool)
        banned = torch.zeros(0, dtype=torch.long) if sampler is None else sampler.banned
        temperature, top_k, top_p = (
            (1.0, 0, 1.0)
            if sampler is None
            else (sampler.temperature, sampler.top_k, sampler.top_p)
        )
        tokens = []
        for k in range(noise.shape[0]):
            scores = last if groups == 1 else guide(last, groups, float(weight))
            scores = ban_and_restrict(scores, banned, temperature, top_k, top_p)
            token = (scores + noise[k]).argmax(-1)
            if eos >= 0:
                token = token.masked_fill(ended, eos)
                ended.logical_or_(token == eos)  # in place: the caller holds it
            tokens.append(token)
            fed = token if groups == 1 else token.repeat(groups)  # (G*N,)
            last, layers = self(fed, layers)
            if refresh is not None and refresh >= 0 and marks is not None:
                last, layers = self.refresh(fed == refresh, marks, last, layers)
        return torch.stack(tokens), last, layers, ended

    def refresh(self, at_line, marks, last, layers) -> tuple:
        """Rows where ``at_line`` (B,) are fed their condition tokens ``marks`` (B, C)."""
        if not bool(at_line.any()):
            return last, layers
        fed_last, fed = last, layers
        for column in range(marks.shape[1]):
            fed_last, fed = self(marks[:, column], fed)
        merged = [
            torch.where(at_line.reshape(-1, *[1] * (new.dim() - 1)), new, old)
            for new, old in zip(fed, layers)
        ]
        return torch.where(at_line[:, None], fed_last, last), merged


class OnnxClassifier:
    """An exported classifier: ``model(ids (B, T), lengths (B,)) -> logits (B, C)``."""

    training = False

    def __init__(self, graph, num_classes: int):
        self.graph, self.num_classes = graph, num_classes

    def eval(self):
        return self

    def train(self, mode: bool = True):
        return self

    def __call__(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        fed = {
            "ids": ids.detach().cpu().numpy().astype(np.int64),
            "lengths": lengths.detach().cpu().numpy().astype(np.int64),
        }
        return torch.from_numpy(self.graph.run(None, fed)[0])


def is_export(path) -> bool:
    """Whether ``path`` is an export folder (``recur export``'s output)."""
    return (Path(path) / GRAPH).is_file() and (Path(path) / "config.json").is_file()


def load_model(directory: Path, config: dict, kind: str, name: str = GRAPH):
    """The graph ``name`` in an export folder as a model of its ``kind``."""
    graph = session(Path(directory) / name)
    if kind == "classifier":
        return OnnxClassifier(graph, len(config["classifier"]["classes"]))
    if kind == "series":
        return OnnxSeriesNetwork(graph, config)
    return OnnxLanguageModel(graph, config)


def load_export(path) -> Bundle:
    """An export folder as a ``Bundle`` (model, tokenizer, config), as ``checkpoint.load``
    gives for a run directory."""
    directory = Path(path)
    for name in ("config.json", "tokenizer.json", GRAPH):
        if not (directory / name).is_file():
            raise RecurError(f"{directory}: {name} is missing; export the run again")
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    tokenizer = load_tokenizer(directory / "tokenizer.json")
    kind = kind_of(config, getattr(tokenizer, "kind", "")).name
    return Bundle(load_model(directory, config, kind), tokenizer, config, directory, kind)
