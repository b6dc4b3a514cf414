"""AWD-LSTM's regularisers: the identity in eval mode, and each drops what the paper says."""

import pytest
import torch
from torch import nn

from recur.config.options import ModelConfig
from recur.models.language_model import RecurrentLM
from recur.models.regularisers import (
    activation_penalty,
    drop_connect,
    embedding_dropout,
    locked_dropout,
    run_layers,
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


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_language_model_applies_them_in_training_only(cell):
    from recur.config.options import ModelConfig
    from recur.models.language_model import build_model

    config = ModelConfig(
        cell=cell, hidden_size=16, embedding_size=16, num_layers=2, vocab_size=30,
        dropout=0.3, locked_dropout=True, embedding_dropout=0.2, weight_drop=0.5,
        activation_regularization=2.0, temporal_activation_regularization=1.0,
    )  # fmt: skip
    torch.manual_seed(0)
    model = build_model(config)
    plain = build_model(ModelConfig(**{**vars(config), "weight_drop": 0.0, "dropout": 0.0,
        "embedding_dropout": 0.0, "activation_regularization": 0.0,
        "temporal_activation_regularization": 0.0}))  # fmt: skip
    plain.load_state_dict(model.state_dict())
    ids = torch.randint(0, 30, (4, 12))
    model.eval(), plain.eval()
    assert torch.equal(model(ids, None, ids)[0], plain(ids, None, ids)[0])  # eval: identical
    model.train(), plain.train()
    regularised, _ = model(ids, None, ids)
    assert regularised.item() > plain(ids, None, ids)[0].item()  # dropped, and AR/TAR added
    regularised.backward()
    assert model.rnn.weight_hh_l0.grad.abs().sum() > 0


def test_weight_drop_needs_a_classic_cell():
    from recur.config.options import ModelConfig
    from recur.errors import UsageError
    from recur.models.language_model import build_model

    with pytest.raises(UsageError, match="--weight-drop is for --cell lstm"):
        build_model(ModelConfig(cell="mingru", vocab_size=10, weight_drop=0.2))


@pytest.mark.parametrize("cell", [nn.LSTM, nn.GRU, nn.RNN])
def test_run_layers_without_dropout_is_the_fused_stack(cell):
    torch.manual_seed(0)
    rnn = cell(6, 8, num_layers=3, batch_first=True)
    x = torch.randn(2, 5, 6)
    state = tuple(torch.randn(3, 2, 8) for _ in range(2 if cell is nn.LSTM else 1))
    fused_out, fused_state = rnn(x, state if cell is nn.LSTM else state[0])
    out, new = run_layers(rnn, x, state, 0.0, 0.0)
    assert torch.allclose(out, fused_out, atol=1e-6)
    fused_state = fused_state if cell is nn.LSTM else (fused_state,)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(new, fused_state))
    out.sum().backward()
    assert rnn.weight_ih_l2.grad is not None and rnn.weight_hh_l0.grad is not None


def test_run_layers_masks_whole_sequences_per_unit_between_layers():
    """Relu layers passing their input through (identity input weights, no recurrence): the top
    layer's output is the mask drawn between the layers, which must hold for every step."""
    rnn = nn.RNN(16, 16, num_layers=2, nonlinearity="relu", batch_first=True)
    with torch.no_grad():
        for name, weight in rnn.named_parameters():
            weight.copy_(torch.eye(16) if name.startswith("weight_ih") else 0 * weight)
    torch.manual_seed(0)
    out, _ = run_layers(rnn, torch.ones(8, 12, 16), None, 0.5, 0.0)
    assert torch.equal(out, out[:, :1].expand_as(out))  # the same mask at every step
    assert set(out.unique().tolist()) == {0.0, 2.0}  # whole units dropped, the rest scaled
    assert not torch.equal(out[0], out[1])  # one mask per sequence


def test_run_layers_weight_drop_reaches_every_layer():
    torch.manual_seed(0)
    rnn = nn.LSTM(4, 8, num_layers=2, batch_first=True)
    x = torch.randn(3, 6, 4)
    plain, _ = run_layers(rnn, x, None, 0.0, 0.0)
    dropped, _ = run_layers(rnn, x, None, 0.0, 0.5)
    assert not torch.allclose(plain[:, -1], dropped[:, -1])
    dropped.sum().backward()
    assert rnn.weight_hh_l1.grad is not None and rnn.weight_hh_l1.grad.abs().sum() > 0


def test_embedding_init_range_bounds_the_embedding_and_its_tied_decoder():
    config = ModelConfig(
        cell="lstm", vocab_size=500, hidden_size=32, embedding_size=32, embedding_init_range=0.1
    )
    model = RecurrentLM(config)
    weight = model.embedding.weight
    assert weight.abs().max() <= 0.1 and weight.std() > 0.05  # uniform in (-0.1, 0.1): std 0.058
    assert model.decoder.weight is weight
    default = RecurrentLM(ModelConfig(cell="lstm", vocab_size=500, hidden_size=32))
    assert default.embedding.weight.std() > 0.9  # 0 keeps PyTorch's N(0, 1)
