"""AWD-LSTM's regularisers (Merity, Keskar & Socher 2018, "Regularizing and Optimizing LSTM
Language Models"), each a small function of the training step; all are the identity in eval mode.

- ``locked_dropout``: variational dropout (Gal & Ghahramani 2016): one mask per sequence, shared
  by every time step, so a unit is dropped for the whole chunk rather than flickering.
- ``embedding_dropout``: drops whole rows of the embedding matrix, i.e. every occurrence of a
  word in the batch (the paper's "embedding dropout").
- ``drop_connect``: DropConnect on the hidden-to-hidden matrices (the paper's "weight drop"),
  applied through ``torch.func.functional_call`` so the recurrent layer keeps its fused kernel.
- ``run_layers``: a stacked nn.LSTM/GRU/RNN run one layer at a time with locked dropout between
  the layers (the fused multi-layer call can only drop per step); each layer is still one fused
  call (oneDNN on a CPU, cuDNN on CUDA) on the stack's own parameters, weight drop included.
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


def run_layers(rnn: nn.RNNBase, x: torch.Tensor, state: tuple | None, p: float, weight_drop: float):
    """Training ``rnn`` (batch first) one layer at a time: locked dropout ``p`` on each layer's
    output before the next, DropConnect ``weight_drop`` on each ``weight_hh``. Layer k runs as a
    one-layer module of the same class (built on the meta device: it holds no weights) called
    with layer k's parameters. ``state``: (h, c) or (h,), each (L, B, H); returns (out, state)."""
    extra = {"nonlinearity": rnn.nonlinearity} if isinstance(rnn, nn.RNN) else {}
    lstm = isinstance(rnn, nn.LSTM)
    finals: list[list[torch.Tensor]] = [[] for _ in range(2 if lstm else 1)]
    for layer in range(rnn.num_layers):
        shell_class: type = type(rnn)  # nn.LSTM, nn.GRU or nn.RNN: (input, hidden, layers)
        shell = shell_class(
            x.shape[-1], rnn.hidden_size, 1, bias=rnn.bias, batch_first=True, device="meta", **extra
        )
        weights = {}
        for name in shell._flat_weights_names:
            weight = getattr(rnn, name.replace("_l0", f"_l{layer}"))
            if name.startswith("weight_hh") and weight_drop:
                weight = F.dropout(weight, p=weight_drop, training=True)
            weights[name] = weight
        given = None if state is None else tuple(s[layer : layer + 1] for s in state)
        out, new = functional_call(
            shell, weights, (x, given if lstm or given is None else given[0])
        )
        for tensors, tensor in zip(finals, new if lstm else (new,)):
            tensors.append(tensor)
        x = locked_dropout(out, p, True) if layer < rnn.num_layers - 1 else out
    return x, tuple(torch.cat(tensors) for tensors in finals)
