"""One token at a time for sampling: the model's weights rearranged so that a step is a few
matrix products with little Python around them.

A single sampling stream is bound by reading the weights once per token, many streams by compute.
Compared with calling ``nn.LSTM`` on a length-1 sequence this (a) skips oneDNN's one-step call,
which costs about 1 ms on CPU, (b) folds the embedding into the first layer's input weights
(a (V, G*H) table, so layer 0 needs one row lookup instead of a product), and (c) fuses the input
and recurrent products of the upper layers into one ``addmm`` over ``[x, h]``.
Gate order follows PyTorch: LSTM (i, f, g, o), GRU (r, z, n).
"""
from __future__ import annotations

import torch
from torch import nn


class Stepper:
    """``stepper(tokens (B,), layers) -> (logits (B, V), layers)``; ``layers`` is a list with one
    state per layer: (h, c) for an LSTM, h for a GRU or RNN, each (B, H); a model with a
    condition embedding adds its (B, C) condition rows as the last entry."""

    def __init__(self, model: nn.Module):
        self.cell = model.config.cell
        self.num_layers = model.config.num_layers
        self.conditioned = getattr(model, "conditioned", False)
        rnn = model.rnn
        with torch.no_grad():
            w_ih0, b_ih0 = rnn.weight_ih_l0, rnn.bias_ih_l0
            table = model.embedding.weight @ w_ih0.t() + b_ih0               # (V, G*H)
            self.input_table = table.contiguous()
            if self.conditioned:
                self.condition_table = model.condition_embedding.weight @ w_ih0.t()   # (R, G*H)
                self.condition_lookup = model.condition_lookup                       # (C, V)
            self.hidden_weights = [getattr(rnn, f"weight_hh_l{i}").t().contiguous()
                                   for i in range(self.num_layers)]          # (H, G*H)
            self.hidden_biases = [getattr(rnn, f"bias_hh_l{i}").clone()
                                  for i in range(self.num_layers)]
            self.input_weights = [None] + [getattr(rnn, f"weight_ih_l{i}").t().contiguous()
                                           for i in range(1, self.num_layers)]
            self.input_biases = [None] + [getattr(rnn, f"bias_ih_l{i}").clone()
                                          for i in range(1, self.num_layers)]
            if self.cell == "lstm":
                # LSTM adds both biases: fold them, and stack [W_ih; W_hh] for one product.
                self.stacked = [None] + [torch.cat([self.input_weights[i], self.hidden_weights[i]])
                                         for i in range(1, self.num_layers)]
                self.biases = [self.hidden_biases[0]] + [
                    self.input_biases[i] + self.hidden_biases[i] for i in range(1, self.num_layers)]
            self.adaptive = getattr(model, "adaptive", False)
            if self.adaptive:
                self.decoder = model.decoder                      # adaptive softmax: log_prob
            else:
                self.decoder_weight = model.decoder.weight.t().contiguous()   # (H, V)
                self.decoder_bias = model.decoder.bias.clone()

    def to_layers(self, state) -> list:
        carried = [state[-1]] if self.conditioned else []
        if self.cell == "lstm":
            return [(h, c) for h, c in zip(state[0].unbind(0), state[1].unbind(0))] + carried
        return list(state[0].unbind(0)) + carried

    def from_layers(self, layers: list) -> tuple:
        carried = (layers[-1],) if self.conditioned else ()
        layers = layers[:self.num_layers]
        if self.cell == "lstm":
            return (torch.stack([h for h, _ in layers]), torch.stack([c for _, c in layers])) \
                + carried
        return (torch.stack(layers),) + carried

    @torch.no_grad()
    def __call__(self, tokens: torch.Tensor, layers: list) -> tuple[torch.Tensor, list]:
        step = {"lstm": self._lstm, "gru": self._gru, "rnn": self._rnn}[self.cell]
        x, new_layers = tokens, []
        if self.conditioned:
            marks = self.condition_lookup[:, tokens].t()                       # (B, C)
            rows = torch.where(marks >= 0, marks, layers[-1])
            x = self.input_table[tokens] + self.condition_table[rows].sum(1)  # (B, G*H)
        for index, state in enumerate(layers[:self.num_layers]):
            x, state = step(index, x, state)
            new_layers.append(state)
        if self.conditioned:
            new_layers.append(rows)
        if self.adaptive:
            return self.decoder.log_prob(x), new_layers
        return torch.addmm(self.decoder_bias, x, self.decoder_weight), new_layers

    def _first_input(self, x: torch.Tensor) -> torch.Tensor:
        """Layer 0's input products: token ids (B,) -> rows of the folded table, or rows already
        made (B, G*H) when the condition was added to them."""
        return self.input_table[x] if x.dim() == 1 else x

    def _lstm(self, index, x, state):
        h, c = state
        if index == 0:
            gates = torch.addmm(self._first_input(x), h, self.hidden_weights[0])
            gates += self.biases[0]
        else:
            gates = torch.addmm(self.biases[index], torch.cat([x, h], 1), self.stacked[index])
        i, f, g, o = gates.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)

    def _gru(self, index, x, h):
        gi = self._first_input(x) if index == 0 else torch.addmm(
            self.input_biases[index], x, self.input_weights[index])
        gh = torch.addmm(self.hidden_biases[index], h, self.hidden_weights[index])
        i_r, i_z, i_n = gi.chunk(3, 1)
        h_r, h_z, h_n = gh.chunk(3, 1)
        r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        h = n + z * (h - n)
        return h, h

    def _rnn(self, index, x, h):
        gi = self._first_input(x) if index == 0 else torch.addmm(
            self.input_biases[index], x, self.input_weights[index])
        h = torch.tanh(torch.addmm(gi + self.hidden_biases[index], h, self.hidden_weights[index]))
        return h, h
