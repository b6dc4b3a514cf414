"""AWD-LSTM's regularisers: the identity in eval mode, and each drops what the paper says."""

import pytest
import torch
from torch import nn

from recur.models.regularisers import (
    activation_penalty,
    drop_connect,
    embedding_dropout,
    locked_dropout,
)


def test_locked_dropout_keeps_one_mask_across_time():
    x = torch.ones(4, 10, 32)
    dropped = locked_dropout(x, 0.5, training=True)
    assert torch.equal(dropped, dropped[:, :1].expand_as(dropped))  # same at every step
    assert set(dropped.unique().tolist()) == {0.0, 2.0}
    assert torch.equal(locked_dropout(x, 0.5, training=False), x)


def test_embedding_dropout_drops_every_occurrence_of_a_word():
    torch.manual_seed(0)
    embedding = nn.Embedding(20, 8)
    ids = torch.arange(20).repeat(3, 1)  # every word three times
    out = embedding_dropout(embedding, ids, 0.5, training=True)
    zero_rows = (out == 0).all(-1)  # (3, 20)
    assert zero_rows.any() and not zero_rows.all()
    assert torch.equal(zero_rows, zero_rows[:1].expand_as(zero_rows))
    kept = ~zero_rows[0]
    assert torch.allclose(out[0, kept], 2 * embedding.weight[kept])


@pytest.mark.parametrize("cell", [nn.LSTM, nn.GRU])
def test_drop_connect_changes_only_the_recurrent_weights_and_learns(cell):
    torch.manual_seed(0)
    rnn = cell(8, 16, num_layers=2, batch_first=True)
    x = torch.randn(2, 5, 8)
    plain, _ = rnn(x)
    eval_out, _ = drop_connect(rnn, 0.5, False, x)
    assert torch.equal(plain, eval_out)
    dropped, _ = drop_connect(rnn, 0.5, True, x)
    assert torch.allclose(plain[:, 0], dropped[:, 0])  # step 0 starts from h = 0
    assert not torch.allclose(plain[:, -1], dropped[:, -1])
    dropped.sum().backward()
    assert rnn.weight_hh_l0.grad is not None and rnn.weight_hh_l0.grad.abs().sum() > 0
    assert rnn.weight_hh_l0.requires_grad  # still a parameter, not replaced


def test_activation_penalty():
    raw = torch.tensor([[[1.0], [3.0]]])
    assert activation_penalty(raw, raw, 0.0, 0.0).item() == 0
    assert activation_penalty(raw, raw, 2.0, 0.0).item() == pytest.approx(2 * (1 + 9) / 2)
    assert activation_penalty(raw, raw, 0.0, 1.0).item() == pytest.approx(4.0)
