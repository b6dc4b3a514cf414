"""AWD-LSTM's regularisers (Merity, Keskar & Socher 2018, "Regularizing and Optimizing LSTM
Language Models"), each a small function of the training step; all are the identity in eval mode.

- ``locked_dropout``: variational dropout (Gal & Ghahramani 2016): one mask per sequence, shared
  by every time step, so a unit is dropped for the whole chunk rather than flickering.
- ``embedding_dropout``: drops whole rows of the embedding matrix, i.e. every occurrence of a
  word in the batch (the paper's "embedding dropout").
- ``drop_connect``: DropConnect on the hidden-to-hidden matrices (the paper's "weight drop"),
  applied through ``torch.func.functional_call`` so the recurrent layer keeps its fused kernel.
- ``activation_penalty``: activation regularisation (AR, the L2 of the dropped top-layer outputs)
  and temporal activation regularisation (TAR, the L2 of their change between steps).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call


def locked_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """``x`` (B, T, H) with one dropout mask per row of the batch, shared over the T steps."""
    if not training or p == 0:
        return x
    mask = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1 - p) / (1 - p)
    return x * mask


def embedding_dropout(
    embedding: nn.Embedding, ids: torch.Tensor, p: float, training: bool
) -> torch.Tensor:
    """Embedded ``ids`` with whole vocabulary rows dropped (and the rest scaled by 1 / (1 - p))."""
    if not training or p == 0:
        return embedding(ids)
    weight = embedding.weight
    mask = weight.new_empty(weight.shape[0], 1).bernoulli_(1 - p) / (1 - p)
    return F.embedding(ids, weight * mask, embedding.padding_idx)


def hidden_weights(rnn: nn.Module) -> list[str]:
    """The names of a recurrent layer's hidden-to-hidden matrices (``weight_hh_l0`` ...)."""
    return [name for name, _ in rnn.named_parameters() if name.startswith("weight_hh")]


def drop_connect(rnn: nn.Module, p: float, training: bool, *inputs):
    """Run ``rnn(*inputs)`` with DropConnect on its hidden-to-hidden weights (one mask per call,
    shared by every step, as in the paper)."""
    if not training or p == 0:
        return rnn(*inputs)
    replaced = {
        name: F.dropout(getattr(rnn, name), p=p, training=True) for name in hidden_weights(rnn)
    }
    return functional_call(rnn, replaced, inputs)


def activation_penalty(
    dropped: torch.Tensor, raw: torch.Tensor, alpha: float, beta: float
) -> torch.Tensor:
    """AR (``alpha`` times the mean square of the dropped outputs) plus TAR (``beta`` times the
    mean square of the raw outputs' change from one step to the next), both (B, T, H)."""
    penalty = dropped.new_zeros(())
    if alpha:
        penalty = penalty + alpha * dropped.pow(2).mean()
    if beta and raw.shape[1] > 1:
        penalty = penalty + beta * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
    return penalty
