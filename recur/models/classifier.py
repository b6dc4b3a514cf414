"""The text classifier model: a pure ``nn.Module`` built from a ``ModelConfig`` and a
``ClassifierConfig`` by ``build_classifier``.

``RecurrentClassifier.forward(ids (B, T), lengths (B,)) -> logits (B, C)``. Sequences are padded
with id 0 (``<pad>``) on the right. Padding never leaks into the result:

- the forward direction reads the real tokens before any padding, so its outputs at real
  positions do not depend on the padding, and the pooling masks the padded positions out;
- the backward direction reads each sequence reversed *within its own length* (padding stays on
  the right), and its outputs are put back in order.

This is exact for every length, like packing, but each layer stays one full-sequence call of
nn.LSTM / nn.GRU (a GRU trains through ``cpu_gru`` on CPU), which on CPU runs about ten times
faster than packed sequences (see docs/experiments.md). Layers are single-direction modules
(``forward_layers.k``, ``backward_layers.k``); ``load_encoder`` maps a language model's
``rnn.*_l{k}`` weights onto ``forward_layers.k``.
"""

from __future__ import annotations

import math
import re

import torch
import torch.nn.functional as F
from torch import nn

from recur.config.options import POOLINGS, ClassifierConfig, ModelConfig
from recur.errors import RecurError
from recur.kernels import cpu_gru
from recur.models.cells import build_rnn
from recur.models.language_model import check_model_config


def reverse_index(lengths: torch.Tensor, total: int) -> torch.Tensor:
    """(B, T) time index that reverses each row's first ``length`` steps and leaves the
    padding where it is; applying it twice restores the order."""
    steps = torch.arange(total, device=lengths.device)[None, :]
    lengths = lengths[:, None]
    return torch.where(steps < lengths, lengths - 1 - steps, steps)


def gather_time(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """x (B, T, W) reordered along time by index (B, T)."""
    return torch.gather(x, 1, index[..., None].expand(-1, -1, x.shape[-1]))


class RecurrentClassifier(nn.Module):
    """Embedding -> (bi)directional recurrent layers (any cell of models/cells.py) -> pooling
    over time -> dropout -> linear head."""

    def __init__(self, config: ModelConfig, classifier: ClassifierConfig):
        super().__init__()
        self.config, self.pooling = config, classifier.pooling
        self.bidirectional = classifier.bidirectional
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size, padding_idx=0)
        directions = 2 if self.bidirectional else 1
        width = config.hidden_size * directions
        sizes = [config.embedding_size] + [width] * (config.num_layers - 1)
        self.forward_layers = nn.ModuleList(build_rnn(config, size, 1, 0.0) for size in sizes)
        self.backward_layers = (
            nn.ModuleList(build_rnn(config, size, 1, 0.0) for size in sizes)
            if self.bidirectional
            else None
        )
        if self.pooling == "attention":
            self.attention = nn.Linear(width, 1)
        self.dropout = nn.Dropout(config.dropout)
        pooled = 3 * width if self.pooling == "concat" else width
        self.head = nn.Linear(pooled, len(classifier.classes))

    @property
    def num_classes(self) -> int:
        return self.head.out_features

    def start_embedding(self, vectors) -> None:
        """Copy (V, E) starting vectors into the embedding; rows that are all 0 (tokens never
        seen near another) and the padding row keep their initialisation."""
        vectors = torch.as_tensor(vectors, dtype=self.embedding.weight.dtype)
        rows = vectors.abs().sum(dim=1) > 0
        rows[0] = False
        with torch.no_grad():
            self.embedding.weight[rows] = vectors[rows]

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.to(ids.device)
        x = self.dropout(self.embedding(ids))  # (B, T, E)
        index = reverse_index(lengths, ids.shape[1]) if self.bidirectional else None
        for layer in range(self.config.num_layers):
            if layer:
                x = self.dropout(x)
            out = cpu_gru.forward(self.forward_layers[layer], x)[0]  # (B, T, H)
            if self.backward_layers is not None and index is not None:
                back = cpu_gru.forward(self.backward_layers[layer], gather_time(x, index))[0]
                out = torch.cat([out, gather_time(back, index)], dim=-1)  # (B, T, 2H)
            x = out
        mask = torch.arange(ids.shape[1], device=ids.device)[None, :] < lengths[:, None]
        return self.head(self.dropout(self.pool(x, mask, lengths)))  # (B, C)

    def pool(self, out: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T, W) outputs and a (B, T) mask of real tokens -> (B, W), or (B, 3W) for
        ``concat`` (ULMFiT's last, max and mean side by side)."""
        if self.pooling == "concat":
            return torch.cat(
                [self.pool_by(kind, out, mask, lengths) for kind in ("last", "max", "mean")], dim=-1
            )
        return self.pool_by(self.pooling, out, mask, lengths)

    def pool_by(
        self, kind: str, out: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        if kind == "last":
            # Forward direction at the last real token; backward direction at the first token,
            # where it has read the whole sequence.
            rows = torch.arange(out.shape[0], device=out.device)
            last = out[rows, lengths - 1]
            if not self.bidirectional:
                return last
            half = self.config.hidden_size
            return torch.cat([last[:, :half], out[:, 0, half:]], dim=-1)
        if kind == "max":
            return out.masked_fill(~mask[..., None], float("-inf")).max(dim=1).values
        if kind == "mean":
            return (out * mask[..., None]).sum(dim=1) / lengths[:, None].to(out.dtype)
        scores = self.attention(out).squeeze(-1).masked_fill(~mask, float("-inf"))  # (B, T)
        weights = torch.softmax(scores, dim=1)
        return torch.bmm(weights[:, None, :], out).squeeze(1)


class ClassifierEnsemble(nn.Module):
    """N ``RecurrentClassifier``s of one shape (``--ensemble N``); ``forward(ids, lengths) ->
    (B, C)`` log of the mean of their probabilities, so a softmax of it is that mean."""

    def __init__(self, members: list):
        super().__init__()
        self.members = nn.ModuleList(members)

    @property
    def num_classes(self) -> int:
        first = self.members[0]
        assert isinstance(first, RecurrentClassifier)
        return first.num_classes

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        log_probabilities = torch.stack(
            [F.log_softmax(member(ids, lengths).float(), dim=-1) for member in self.members]
        )  # (N, B, C)
        return torch.logsumexp(log_probabilities, dim=0) - math.log(len(self.members))


def build_classifier(config: ModelConfig, classifier: ClassifierConfig) -> nn.Module:
    """A ``RecurrentClassifier``, or with ``ensemble`` > 1 a ``ClassifierEnsemble`` of them."""
    check_model_config(config)
    if classifier.ensemble < 1:
        raise RecurError("--ensemble must be 1 or more")
    if not 0 <= classifier.word_dropout < 1:
        raise RecurError(
            f"--word-dropout {classifier.word_dropout:g}: give a fraction from 0 up "
            "to (not including) 1, such as 0.3"
        )
    if classifier.average_epochs < 0:
        raise RecurError(
            f"--average-epochs {classifier.average_epochs}: give 0 (the best "
            "epoch) or a number of epochs to average, such as 3"
        )
    if classifier.pooling not in POOLINGS:
        raise RecurError(
            f"unknown --pooling {classifier.pooling!r}; choose from {', '.join(POOLINGS)}"
        )
    if len(classifier.classes) < 2:
        raise RecurError("a classifier needs at least two classes")
    if classifier.ensemble > 1:
        return ClassifierEnsemble(
            [RecurrentClassifier(config, classifier) for _ in range(classifier.ensemble)]
        )
    return RecurrentClassifier(config, classifier)


def load_encoder(model: RecurrentClassifier, language_model: nn.Module) -> list[str]:
    """Copy a language model's embedding and recurrent weights into the embedding and the
    forward layers of ``model`` (``rnn.weight_ih_l1`` -> ``forward_layers.1.weight_ih_l0``);
    returns the names of the copied parameters. The backward layers keep their initialisation."""
    target = model.state_dict()
    copied = []
    weights = dict(language_model.state_dict())
    embedding = getattr(language_model, "embedding", None)
    if "embedding.weight" not in weights and embedding is not None:  # an adaptive input's
        with torch.no_grad():  # clusters: the full (V, E) table they stand for
            weights["embedding.weight"] = embedding.weight.detach()
    for name, value in weights.items():
        mapped = encoder_name(name)
        if (
            mapped.startswith(("embedding.", "forward_layers."))
            and mapped in target
            and target[mapped].shape == value.shape
        ):
            target[mapped] = value.clone()
            copied.append(mapped)
    model.load_state_dict(target)
    return copied


def encoder_name(name: str) -> str:
    """A language model's parameter name -> the classifier's: ``rnn.weight_ih_l1`` ->
    ``forward_layers.1.weight_ih_l0`` (nn.LSTM/GRU/RNN), ``rnn.layers.1.cell.linear.weight`` ->
    ``forward_layers.1.layers.0.cell.linear.weight`` (the newer cells' stacks), ``rnn.input.*``
    -> ``forward_layers.0.input.*``; anything else unchanged."""
    if match := re.fullmatch(r"rnn\.(\w+)_l(\d+)", name):
        return f"forward_layers.{match.group(2)}.{match.group(1)}_l0"
    if match := re.fullmatch(r"rnn\.layers\.(\d+)\.(.+)", name):
        return f"forward_layers.{match.group(1)}.layers.0.{match.group(2)}"
    if name.startswith("rnn.input."):
        return "forward_layers.0." + name.removeprefix("rnn.")
    return name
