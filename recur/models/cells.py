"""The recurrent cells by name (``--cell``): the module each builds and the state it carries.

Every cell module runs batch first, ``rnn(x (B, T, I), state) -> (out (B, T, H), state)``:
nn.LSTM / nn.GRU / nn.RNN, ``min_rnn.MinRNN`` (minGRU, minLSTM) and ``mogrifier.MogrifierLSTM``.
The state of an LSTM or a Mogrifier LSTM is ``(h, c)``, of the others ``(h,)``, each tensor
(num_layers, B, H).
"""

from __future__ import annotations

from torch import nn

from recur.config.options import ModelConfig
from recur.models.min_rnn import MinRNN
from recur.models.mogrifier import MogrifierLSTM

CLASSIC = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
MIN_CELLS = ("mingru", "minlstm")


def state_count(cell: str) -> int:
    """How many (num_layers, B, H) tensors the cell's state holds: 2 (h, c) or 1 (h)."""
    return 2 if cell in ("lstm", "mogrifier") else 1


def build_rnn(config: ModelConfig, input_size: int, num_layers: int, dropout: float) -> nn.Module:
    """The ``config.cell`` stack of ``num_layers`` layers, ``config.hidden_size`` wide, reading
    ``input_size``-wide inputs; ``dropout`` between layers (inside each block for minGRU and
    minLSTM, on its two residual branches)."""
    hidden = config.hidden_size
    if config.cell in MIN_CELLS:
        return MinRNN(config.cell, input_size, hidden, num_layers, dropout, config.feedforward)
    if config.cell == "mogrifier":
        return MogrifierLSTM(input_size, hidden, num_layers, dropout, config.mogrifier_rounds)
    return CLASSIC[config.cell](
        input_size,
        hidden,
        num_layers=num_layers,
        dropout=dropout if num_layers > 1 else 0.0,
        batch_first=True,
    )
