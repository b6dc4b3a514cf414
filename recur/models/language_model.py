"""Models: pure ``nn.Module``s built from a ``ModelConfig`` by ``build_model``.

``RecurrentLM.forward(ids (B, T), state) -> (logits (B, T, V), state)``. The state is a plain tuple
of tensors, each (num_layers, B, hidden_size): (h, c) for an LSTM or Mogrifier LSTM, (h,) for the
other cells (models/cells.py).
The caller carries it: training detaches it between chunks, sampling feeds one step at a time.
On CPU a GRU trains through ``cpu_gru`` (the same numbers as ``nn.GRU``, a faster backward)
when the kernels are on (``recur.kernels``; ``cpu_gru.usable`` decides).
A model with ``condition_embedding`` adds one more entry, the (B, columns) condition rows in
force (0: none), read from the condition tokens in ``ids`` and carried like the hidden state.
With ``targets`` (B, T) the first output is the mean cross-entropy instead of logits, so an
adaptive softmax never forms the (B, T, V) logits in training (as nanoGPT's ``forward`` does).
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from recur.config.options import CELLS, ModelConfig
from recur.errors import RecurError, UsageError
from recur.kernels import cpu_gru
from recur.models.adaptive_io import AdaptiveInput, input_embedding, output_layer, parse_cutoffs
from recur.models.adaptive_loss import adaptive_loss
from recur.models.cells import CLASSIC, build_rnn, state_count
from recur.models.chunked_loss import chunked_cross_entropy
from recur.models.min_rnn import MinRNN
from recur.models.regularisers import (
    activation_penalty,
    drop_connect,
    embedding_dropout,
    locked_dropout,
    run_layers,
)
from recur.tokenizers.base import SymbolTable

State = tuple  # tuple[torch.Tensor, ...]

RNN_CLASSES = CLASSIC  # the name older callers import


class RecurrentLM(nn.Module):
    """Embedding -> stacked recurrent cell (models/cells.py) -> decoder over the vocabulary: a
    linear layer (tied to the embedding when the sizes allow), or an adaptive softmax
    (``adaptive_softmax`` cutoffs)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        cutoffs = parse_cutoffs(config.adaptive_softmax, config.vocab_size)
        self.adaptive = bool(cutoffs)
        self.embedding: nn.Embedding | AdaptiveInput = input_embedding(config, cutoffs)
        self.rnn = build_rnn(config, config.embedding_size, config.num_layers, config.dropout)
        self.dropout = nn.Dropout(config.dropout)
        self.conditioned = bool(config.condition_embedding and config.condition_ids)
        if self.conditioned:
            self.condition_embedding = nn.Embedding(
                1 + sum(map(len, config.condition_ids)), config.embedding_size
            )
            self.register_buffer("condition_lookup", condition_lookup(config), persistent=False)
        self.decoder: nn.Module = output_layer(config, cutoffs, self.embedding)
        if self.tied:
            self.decoder.weight = self.embedding.weight

    @property
    def tied(self) -> bool:
        return (
            self.config.tie_weights
            and not self.adaptive
            and self.config.embedding_size == self.config.hidden_size
        )

    def forward(
        self, ids: torch.Tensor, state: State | None = None, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, State]:
        if self.folds_embedding(ids):
            rnn = cast(nn.GRU, self.rnn)  # folds_embedding: a GRU
            embedding = cast(nn.Embedding, self.embedding)  # an AdaptiveInput has .weight too
            first = cpu_gru.embedded_inputs(embedding, rnn, ids)  # (T, B, 3H)
            given = None if state is None else state[0]
            out, h = cpu_gru.gru(rnn, None, given, first, self.weight_drop)
            return self.outputs(self.dropout(out), (h,), targets, out)
        if self.folds_projection(ids):  # the embedding and a minGRU/minLSTM input projection
            stack = cast(MinRNN, self.rnn)
            table = self.embedding.weight @ cast(nn.Linear, stack.input).weight.t()  # (V, H)
            out, new = stack(F.embedding(ids, table), None if state is None else tuple(state), True)
            return self.outputs(self.dropout(out), tuple(new), targets, out)
        x = embedding_dropout(  # (B, T, E); an AdaptiveInput drops rows of its full .weight
            cast(nn.Embedding, self.embedding), ids, self.config.embedding_dropout, self.training
        )
        carried: tuple[torch.Tensor, ...] = ()
        if self.conditioned:
            rows, last = self.track_conditions(ids, None if state is None else state[-1])
            x = x + self.condition_embedding(rows).sum(2)  # (B, T, C, E) -> (B, T, E)
            state, carried = (None if state is None else state[:-1]), (last,)
        x = self.drop(x)
        weight_drop = self.weight_drop
        if self.locks_layers:  # locked dropout between layers: one layer at a time
            given = None if state is None else tuple(state)
            layers = cast(nn.RNNBase, self.rnn)
            out, new = run_layers(layers, x, given, self.config.dropout, weight_drop)
            state = new + carried
        elif self.config.cell in ("gru", "rnn"):
            h = None if state is None else state[0]
            if cpu_gru.usable(self.rnn, x):
                out, h = cpu_gru.gru(self.rnn, x, h, weight_drop=weight_drop)
            else:  # with weight_drop 0, rnn(x, h)
                out, h = drop_connect(self.rnn, weight_drop, True, x, h)
            state = (h,) + carried
        else:  # LSTM, minGRU, minLSTM, Mogrifier: the state tuple as it is
            given = None if state is None else tuple(state)
            if weight_drop:  # an LSTM (check_model_config allows no other)
                out, new = drop_connect(self.rnn, weight_drop, True, x, given)
            else:
                out, new = self.rnn(x, given)  # (B, T, H)
            state = tuple(new) + carried
        return self.outputs(self.drop(out), state, targets, out)

    def drop(self, x: torch.Tensor) -> torch.Tensor:
        """--dropout on (B, T, E|H): one mask per sequence with --locked-dropout, else per step."""
        if self.config.locked_dropout:
            return locked_dropout(x, self.config.dropout, self.training)
        return self.dropout(x)

    @property
    def locks_layers(self) -> bool:
        """Training a stack of lstm/gru/rnn layers with locked dropout between them."""
        config = self.config
        return (
            self.training
            and config.locked_dropout
            and config.dropout > 0
            and config.num_layers > 1
            and config.cell in CLASSIC
        )

    @property
    def weight_drop(self) -> float:
        """--weight-drop while training, 0 otherwise."""
        return self.config.weight_drop if self.training else 0.0

    @property
    def regularised(self) -> bool:
        """Training with a regulariser that the folded fast paths below do not apply: embedding
        dropout (cpu_gru applies --weight-drop itself; minGRU/minLSTM refuse it)."""
        return self.training and bool(self.config.embedding_dropout)

    def folds_embedding(self, ids: torch.Tensor) -> bool:
        """Whether a GRU's first input products are rows of one (V, 3H) table (cpu_gru's
        ``embedded_inputs``): CPU training of a plain model whose vocabulary is small beside the
        batch's B x T tokens, with no dropout on the embedding between them."""
        return (
            self.config.cell == "gru"
            and not self.conditioned
            and not (self.training and self.dropout.p > 0)
            and not self.regularised
            and self.config.vocab_size * 8 <= ids.numel()
            and cpu_gru.usable(self.rnn, self.embedding.weight)
        )

    def folds_projection(self, ids: torch.Tensor) -> bool:
        """Whether a minGRU/minLSTM stack's input projection folds into the embedding, one
        (V, H) table, as ``folds_embedding`` does for a GRU, and on the same conditions."""
        return (
            isinstance(self.rnn, MinRNN)
            and isinstance(self.rnn.input, nn.Linear)
            and not self.conditioned
            and not (self.training and self.dropout.p > 0)
            and not self.regularised
            and self.config.vocab_size * 8 <= ids.numel()
        )

    def outputs(
        self, out: torch.Tensor, state: State, targets: torch.Tensor | None, raw=None
    ) -> tuple:
        """Logits, or with ``targets`` the loss (plus AR/TAR on ``out`` and the undropped
        ``raw`` outputs while training)."""
        if targets is not None:
            loss = self.loss(out, targets)
            alpha = self.config.activation_regularization
            beta = self.config.temporal_activation_regularization
            if self.training and raw is not None and (alpha or beta):
                loss = loss + activation_penalty(out, raw, alpha, beta)
            return loss, state  # scalar
        return self.logits(out), state  # (B, T, V)

    def track_conditions(self, ids: torch.Tensor, carried: torch.Tensor | None):
        """The condition rows in force at each step (B, T, C) and after the last one (B, C):
        a condition token sets its column's row, ``<bos>`` clears every column to 0, and steps
        before any of them keep ``carried`` (the previous chunk's last rows)."""
        lookup = cast(torch.Tensor, self.condition_lookup)  # a buffer
        marks = lookup[:, ids].permute(1, 2, 0)  # (B, T, C), -1: no change
        steps = torch.arange(ids.shape[1], device=ids.device)[None, :, None]
        latest = torch.where(marks >= 0, steps, -1).cummax(1).values  # last mark so far
        if carried is None:
            carried = torch.zeros_like(marks[:, 0])
        rows = torch.where(latest >= 0, marks.gather(1, latest.clamp(min=0)), carried[:, None])
        return rows, rows[:, -1]

    def logits(self, out: torch.Tensor) -> torch.Tensor:
        """Decoder outputs (..., H) -> logits (..., V); the adaptive softmax gives
        log-probabilities, which are logits of the same distribution."""
        if not self.adaptive:
            return self.decoder(out)
        decoder = cast(nn.AdaptiveLogSoftmaxWithLoss, self.decoder)
        flat = decoder.log_prob(out.reshape(-1, out.shape[-1]).float())
        return flat.reshape(*out.shape[:-1], -1)

    def loss(self, out: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy (nats) of ``targets`` (B, T) given decoder inputs (B, T, H)."""
        flat, targets = out.reshape(-1, out.shape[-1]), targets.reshape(-1)
        if self.adaptive:  # its products in the autocast's dtype, the log-softmax in fp32
            return adaptive_loss(cast(nn.AdaptiveLogSoftmaxWithLoss, self.decoder), flat, targets)
        decoder = cast(nn.Linear, self.decoder)  # big vocabularies: never all the logits at once
        return chunked_cross_entropy(flat, decoder.weight, decoder.bias, targets)

    def initial_state(self, batch_size: int, device=None) -> State:
        shape = (self.config.num_layers, batch_size, self.config.hidden_size)
        count = state_count(self.config.cell)
        carried = (
            (
                torch.zeros(
                    batch_size, len(self.config.condition_ids), dtype=torch.long, device=device
                ),
            )
            if self.conditioned
            else ()
        )
        return tuple(torch.zeros(shape, device=device) for _ in range(count)) + carried


def condition_lookup(config: ModelConfig) -> torch.Tensor:
    """(C, V): per condition column, token id -> its row of the condition embedding (rows 1...
    in column order), 0 for ``<bos>`` (a new document clears the condition), -1 for the rest."""
    lookup = torch.full((len(config.condition_ids), config.vocab_size), -1, dtype=torch.long)
    row = 1
    for column, ids in enumerate(config.condition_ids):
        lookup[column, SymbolTable.bos_id] = 0
        for token in ids:
            lookup[column, token], row = row, row + 1
    return lookup


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


def build_model(config: ModelConfig) -> RecurrentLM:
    check_model_config(config)
    return RecurrentLM(config)


def check_model_config(config: ModelConfig) -> None:
    """One-line errors for a cell, size or dropout no model can be built with."""
    if config.cell not in CELLS:
        raise RecurError(f"unknown --cell {config.cell!r}; choose from {', '.join(CELLS)}")
    if config.vocab_size <= 0:
        raise RecurError("the model needs vocab_size > 0 (fit a tokenizer first)")
    for name in ("num_layers", "hidden_size", "embedding_size"):
        if getattr(config, name) <= 0:
            raise RecurError(f"--{name.replace('_', '-')} must be positive")
    if not 0.0 <= config.dropout < 1.0:
        raise RecurError("--dropout must be in [0, 1)")
    if config.mogrifier_rounds < 0 or config.feedforward < 0:
        raise RecurError("--mogrifier-rounds and --feedforward must be 0 or more")
    if config.weight_drop and config.cell not in CLASSIC:
        raise UsageError(f"--weight-drop is for --cell lstm, gru or rnn, not {config.cell}")
