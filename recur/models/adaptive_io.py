"""Tied adaptive input and adaptive softmax (Baevski & Auli 2019, "Adaptive Input Representations
for Neural Language Modeling").

``AdaptiveInput`` splits the embedding by the adaptive softmax's frequency clusters: the shortlist
[0, cutoffs[0]) keeps full rows of width d, cluster i has rows of width d / div^i and a
projection to d. ``TiedAdaptiveSoftmax`` is an ``nn.AdaptiveLogSoftmaxWithLoss`` whose head scores
the shortlist with those same shortlist rows (plus one row per tail cluster of its own and a bias)
and whose tail i projects the hidden state down by the transposed projection i and scores it
with the cluster's rows: every table and projection is one tensor, owned by the input. On
WikiText-2's 33k words (cutoffs 2000,10000, div 4) the embedding drops from 13.3M weights to 1.6M.
The softmax subclass keeps ``head``/``tail``/``log_prob`` so adaptive_loss, sampling, the fast
steppers and the ONNX exporter use it unchanged.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from recur.config.options import ModelConfig
from recur.errors import RecurError

AUTO_CUTOFFS, AUTO_MIN_VOCAB = [2000, 10000], 20_000


def parse_cutoffs(text: str, vocab_size: int) -> list[int]:
    """``"2000,10000"`` -> [2000, 10000]: increasing token ids strictly inside the vocabulary.
    ``auto``: AUTO_CUTOFFS for vocabularies of AUTO_MIN_VOCAB tokens or more (a 2x200 model on
    WikiText-2's 33,281 words trains about 4 times faster than with a full softmax at batch 20x35,
    where the softmax takes most of the time); ``none`` or empty: a full softmax."""
    text = str(text or "").strip().lower()
    if text in ("", "none"):
        return []
    if text == "auto":
        return list(AUTO_CUTOFFS) if vocab_size >= AUTO_MIN_VOCAB else []
    try:
        cutoffs = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise RecurError(
            f"--adaptive-softmax {text!r}: give token ids such as 2000,10000"
        ) from None
    if cutoffs and (
        cutoffs != sorted(set(cutoffs)) or cutoffs[0] <= 0 or cutoffs[-1] >= vocab_size - 1
    ):
        raise RecurError(
            f"--adaptive-softmax {text}: the cutoffs must increase and lie between 1 "
            f"and {vocab_size - 2} (the vocabulary has {vocab_size} tokens)"
        )
    return cutoffs


def shares_clusters(config: ModelConfig, cutoffs: list[int]) -> bool:
    """Whether the embedding is split into the softmax's clusters and shared with it."""
    return bool(
        cutoffs
        and config.adaptive_input
        and config.tie_weights
        and config.embedding_size == config.hidden_size
    )


def input_embedding(config: ModelConfig, cutoffs: list[int]) -> nn.Embedding | AdaptiveInput:
    """The model's embedding: an ``AdaptiveInput`` when it shares the softmax's clusters."""
    embedding: nn.Embedding | AdaptiveInput
    if shares_clusters(config, cutoffs):
        embedding = AdaptiveInput(
            config.vocab_size, config.embedding_size, cutoffs, config.adaptive_div_value
        )
        if config.embedding_init_range:
            embedding.init_uniform(config.embedding_init_range)
        return embedding
    embedding = nn.Embedding(config.vocab_size, config.embedding_size)
    if config.embedding_init_range:  # AWD-LSTM's start for a tied embedding, not N(0, 1)
        bound = config.embedding_init_range
        nn.init.uniform_(embedding.weight, -bound, bound)
    return embedding


def output_layer(config: ModelConfig, cutoffs: list[int], embedding: nn.Module) -> nn.Module:
    """A linear decoder, an adaptive softmax, or one sharing ``embedding``'s clusters."""
    if isinstance(embedding, AdaptiveInput):
        return TiedAdaptiveSoftmax(embedding, config.adaptive_div_value)
    if cutoffs:
        return nn.AdaptiveLogSoftmaxWithLoss(
            config.hidden_size, config.vocab_size, cutoffs, div_value=config.adaptive_div_value
        )
    return nn.Linear(config.hidden_size, config.vocab_size)


def cluster_widths(width: int, clusters: int, div_value: float) -> list[int]:
    """Row width of each cluster: ``width`` for the shortlist, ``width // div^i`` (at least 1)."""
    return [max(1, int(width // (div_value**i))) for i in range(clusters)]


class AdaptiveInput(nn.Module):
    """ids (...) -> (..., d): shortlist rows as they are, rarer clusters' narrow rows projected."""

    def __init__(self, vocab_size: int, width: int, cutoffs: list[int], div_value: float):
        super().__init__()
        self.num_embeddings, self.embedding_dim, self.padding_idx = vocab_size, width, None
        self.edges = [0, *cutoffs, vocab_size]
        widths = cluster_widths(width, len(self.edges) - 1, div_value)
        self.tables = nn.ModuleList(
            nn.Embedding(stop - start, size)
            for start, stop, size in zip(self.edges, self.edges[1:], widths)
        )
        # projection i maps cluster i's rows to d; the shortlist needs none (index 0 unused)
        self.projections = nn.ModuleList(
            nn.Linear(size, width, bias=False) if i else nn.Identity()
            for i, size in enumerate(widths)
        )

    def init_uniform(self, bound: float) -> None:
        for table in self.tables:
            nn.init.uniform_(cast_embedding(table).weight, -bound, bound)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        # masks rather than gathers by cluster: fixed shapes (one bf16 kernel) and traceable
        out: torch.Tensor | None = None
        for start, stop, table, projection in zip(
            self.edges, self.edges[1:], self.tables, self.projections
        ):
            inside = (ids >= start) & (ids < stop)
            local = (ids - start).clamp(0, stop - start - 1)
            rows = projection(table(local)) * inside.unsqueeze(-1)
            out = rows if out is None else out + rows
        assert out is not None
        return out

    @property
    def weight(self) -> torch.Tensor:
        """The full (V, d) table the clusters stand for (the fast steppers' input table)."""
        return torch.cat(
            [
                projection(cast_embedding(table).weight)
                for table, projection in zip(self.tables, self.projections)
            ]
        )


def cast_embedding(module: nn.Module) -> nn.Embedding:
    assert isinstance(module, nn.Embedding)
    return module


class TiedHead(nn.Module):
    """(N, d) -> (N, shortlist + clusters) head logits from the input's shortlist rows."""

    def __init__(self, source: AdaptiveInput, clusters: int):
        super().__init__()
        self.source = [source]  # a list: the input owns the rows, not registered twice
        width = source.embedding_dim
        self.cluster_weight = nn.Parameter(torch.empty(clusters, width).uniform_(-0.1, 0.1))
        self.bias = nn.Parameter(torch.zeros(source.edges[1] + clusters))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        shortlist = cast_embedding(self.source[0].tables[0]).weight
        return F.linear(hidden, torch.cat([shortlist, self.cluster_weight]), self.bias)


class TiedTail(nn.Module):
    """(N, d) -> (N, cluster size) logits: down by the transposed projection, then the rows."""

    def __init__(self, source: AdaptiveInput, index: int):
        super().__init__()
        self.source, self.index = [source], index

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        source = self.source[0]
        projection = source.projections[self.index]
        assert isinstance(projection, nn.Linear)
        narrow = F.linear(hidden, projection.weight.t())  # (N, d_i)
        return F.linear(narrow, cast_embedding(source.tables[self.index]).weight)


class TiedAdaptiveSoftmax(nn.AdaptiveLogSoftmaxWithLoss):
    """An adaptive softmax whose clusters are ``source``'s tables and projections."""

    def __init__(self, source: AdaptiveInput, div_value: float):
        nn.Module.__init__(self)  # the parent's own head and tails would only be replaced
        self.in_features = source.embedding_dim
        self.n_classes = source.num_embeddings
        self.cutoffs = list(source.edges[1:])
        self.div_value, self.head_bias = div_value, True
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = TiedHead(source, self.n_clusters)  # type: ignore[assignment]  # same call
        self.tail = nn.ModuleList(TiedTail(source, i) for i in range(1, self.n_clusters + 1))

    def reset_parameters(self) -> None:
        """The shared rows belong to the input; only the head's own weights restart."""
        head = cast(TiedHead, self.head)
        nn.init.uniform_(head.cluster_weight, -0.1, 0.1)
        nn.init.zeros_(head.bias)
