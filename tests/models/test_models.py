import pytest
import torch
import torch.nn.functional as F

from recur.config.options import ModelConfig
from recur.errors import RecurError
from recur.models.language_model import build_model


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_shapes_and_explicit_state(cell):
    model = build_model(
        ModelConfig(cell=cell, vocab_size=11, hidden_size=8, embedding_size=6, num_layers=3)
    )
    ids = torch.randint(0, 11, (2, 5))
    logits, state = model(ids)
    assert logits.shape == (2, 5, 11)
    assert len(state) == (2 if cell == "lstm" else 1)
    assert all(s.shape == (3, 2, 8) for s in state)
    # Feeding in two pieces with the carried state equals one pass over the whole sequence.
    first, state = model(ids[:, :3])
    second, _ = model(ids[:, 3:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), logits)


def test_weights_are_tied_only_when_sizes_allow():
    tied = build_model(ModelConfig(vocab_size=9, hidden_size=8, embedding_size=8))
    assert tied.tied and tied.decoder.weight is tied.embedding.weight
    untied = build_model(ModelConfig(vocab_size=9, hidden_size=8, embedding_size=4))
    assert not untied.tied


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_overfits_one_batch(cell):
    torch.manual_seed(0)
    model = build_model(ModelConfig(cell=cell, vocab_size=12, hidden_size=32, embedding_size=16))
    x = torch.randint(4, 12, (4, 24))
    y = torch.roll(x, -1, dims=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        loss = F.cross_entropy(model(x)[0].reshape(-1, 12), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05


def test_gradient_flows_through_the_carried_state():
    model = build_model(ModelConfig(vocab_size=7, hidden_size=5, embedding_size=3)).double()
    ids = torch.randint(0, 7, (1, 4))
    state = tuple(torch.randn(2, 1, 5, dtype=torch.double, requires_grad=True) for _ in range(2))
    assert torch.autograd.gradcheck(lambda h, c: model(ids, (h, c))[0], state)


def test_bad_configs_are_errors():
    with pytest.raises(RecurError, match="unknown --cell"):
        build_model(ModelConfig(cell="transformer", vocab_size=5))
    with pytest.raises(RecurError, match="--hidden-size must be positive"):
        build_model(ModelConfig(vocab_size=5, hidden_size=0))
