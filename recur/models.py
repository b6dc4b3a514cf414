"""Models: pure ``nn.Module``s built from a ``ModelConfig`` by ``build_model``.

``RecurrentLM.forward(ids (B, T), state) -> (logits (B, T, V), state)``. The state is a plain tuple
of tensors, each (num_layers, B, hidden_size): (h, c) for an LSTM, (h,) for a GRU or plain RNN.
The caller carries it: training detaches it between chunks, sampling feeds one step at a time.
"""
from __future__ import annotations

import torch
from torch import nn

from .config import CELLS, ModelConfig
from .errors import RecurError

State = tuple  # tuple[torch.Tensor, ...]

RNN_CLASSES = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class RecurrentLM(nn.Module):
    """Embedding -> stacked LSTM/GRU/RNN -> linear decoder over the vocabulary."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size)
        self.rnn = RNN_CLASSES[config.cell](
            config.embedding_size, config.hidden_size, num_layers=config.num_layers,
            dropout=config.dropout if config.num_layers > 1 else 0.0, batch_first=True)
        self.dropout = nn.Dropout(config.dropout)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        if self.tied:
            self.decoder.weight = self.embedding.weight

    @property
    def tied(self) -> bool:
        return self.config.tie_weights and self.config.embedding_size == self.config.hidden_size

    def forward(self, ids: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        x = self.dropout(self.embedding(ids))                  # (B, T, E)
        if self.config.cell == "lstm":
            out, (h, c) = self.rnn(x, state)                   # (B, T, H)
            state = (h, c)
        else:
            out, h = self.rnn(x, None if state is None else state[0])
            state = (h,)
        return self.decoder(self.dropout(out)), state          # (B, T, V)

    def initial_state(self, batch_size: int, device=None) -> State:
        shape = (self.config.num_layers, batch_size, self.config.hidden_size)
        count = 2 if self.config.cell == "lstm" else 1
        return tuple(torch.zeros(shape, device=device) for _ in range(count))


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
