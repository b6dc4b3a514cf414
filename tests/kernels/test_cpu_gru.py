"""The CPU training GRU (cpu_gru.py) gives nn.GRU's outputs and gradients, and the model uses
it exactly when it should."""

import pytest
import torch
from torch import nn

from recur.config.options import ModelConfig
from recur.kernels import cpu_gru
from recur.models.language_model import build_model


def outputs_and_gradients(rnn, x, h0, fused, use="both"):
    rnn.zero_grad()
    x.grad = None
    out, h = cpu_gru.gru(rnn, x, h0) if fused else rnn(x, h0)
    torch.manual_seed(1)
    weights_out, weights_h = torch.randn_like(out), torch.randn_like(h)
    loss = {
        "both": (out * weights_out).sum() + (h * weights_h).sum(),
        "h": (h * weights_h).sum(),
        "out": (out * weights_out).sum(),
    }[use]
    loss.backward()
    return [out.detach(), h.detach(), x.grad.clone()] + [p.grad.clone() for p in rnn.parameters()]


@pytest.mark.parametrize(
    "layers,steps,with_state,use",
    [(2, 9, True, "both"), (1, 1, False, "both"), (3, 5, True, "h"), (2, 4, False, "out")],
)
def test_it_matches_nn_gru(layers, steps, with_state, use):
    torch.manual_seed(0)
    rnn = nn.GRU(6, 10, layers, batch_first=True)
    x = torch.randn(3, steps, 6, requires_grad=True)
    h0 = torch.randn(layers, 3, 10) if with_state else None
    expected = outputs_and_gradients(rnn, x, h0, fused=False, use=use)
    got = outputs_and_gradients(rnn, x, h0, fused=True, use=use)
    assert [t.shape for t in got] == [t.shape for t in expected]
    for index, (a, b) in enumerate(zip(got, expected)):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4), index


def test_dropout_between_layers_only_while_training():
    torch.manual_seed(0)
    rnn = nn.GRU(4, 8, 2, batch_first=True, dropout=0.5)
    x = torch.randn(2, 5, 4)
    rnn.eval()
    with torch.enable_grad():
        assert torch.allclose(cpu_gru.gru(rnn, x, None)[0], rnn(x)[0], atol=1e-6)
    rnn.train()
    torch.manual_seed(3)
    first = cpu_gru.gru(rnn, x, None)[0]
    torch.manual_seed(3)
    assert torch.equal(first, cpu_gru.gru(rnn, x, None)[0])
    assert not torch.allclose(first, rnn.eval()(x)[0], atol=1e-3)


def test_the_model_trains_through_it_and_evaluates_through_nn_gru(monkeypatch):
    calls = []
    apply = cpu_gru.GRURecurrence.apply
    monkeypatch.setattr(cpu_gru.GRURecurrence, "apply", lambda *a: calls.append(1) or apply(*a))
    model = build_model(ModelConfig(vocab_size=12, cell="gru", hidden_size=16, embedding_size=8))
    ids = torch.randint(0, 12, (2, 6))
    loss, state = model(ids, None, ids)
    loss.backward()
    assert len(calls) == model.config.num_layers and state[0].shape == (2, 2, 16)
    with torch.no_grad():
        logits, _ = model(ids)
    assert len(calls) == model.config.num_layers and logits.shape == (2, 6, 12)
    lstm = build_model(ModelConfig(vocab_size=12, cell="lstm", hidden_size=16, embedding_size=8))
    lstm(ids, None, ids)[0].backward()
    assert len(calls) == model.config.num_layers


def test_a_small_vocabulary_folds_the_embedding_into_the_first_products(monkeypatch):
    torch.manual_seed(0)
    model = build_model(ModelConfig(vocab_size=12, cell="gru", hidden_size=16, embedding_size=8))
    ids, state = torch.randint(0, 12, (4, 24)), (torch.randn(2, 4, 16),)

    def loss_and_gradients():
        model.zero_grad()
        loss, (h,) = model(ids, state, ids)
        (loss + h.square().sum()).backward()
        return [loss.detach(), h.detach()] + [p.grad.clone() for p in model.parameters()]

    assert model.folds_embedding(ids)
    folded = loss_and_gradients()
    monkeypatch.setattr(type(model), "folds_embedding", lambda self, ids: False)
    unfolded = loss_and_gradients()
    for index, (a, b) in enumerate(zip(folded, unfolded)):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4), index
    monkeypatch.undo()
    assert not model.folds_embedding(ids[:, :2])  # 8 tokens: fewer than the vocabulary
    with torch.no_grad():
        assert not model.folds_embedding(ids)  # validation runs nn.GRU
    dropped = build_model(
        ModelConfig(vocab_size=12, cell="gru", hidden_size=16, embedding_size=8, dropout=0.1)
    )
    assert not dropped.folds_embedding(ids)  # embedding dropout sits in between
    assert dropped.eval().folds_embedding(ids)


def test_weight_drop_masks_w_hh_as_drop_connect_does():
    from recur.models.regularisers import drop_connect

    torch.manual_seed(0)
    rnn = nn.GRU(6, 10, 2, batch_first=True)
    x, h0 = torch.randn(3, 7, 6), torch.randn(2, 3, 10)
    results = []
    for run in (
        lambda: cpu_gru.gru(rnn, x, h0, weight_drop=0.3),
        lambda: drop_connect(rnn, 0.3, True, x, h0),
    ):
        rnn.zero_grad()
        torch.manual_seed(5)
        out, h = run()
        (out.square().sum() + h.sum()).backward()
        results.append([out.detach(), h.detach()] + [p.grad.clone() for p in rnn.parameters()])
    for index, (a, b) in enumerate(zip(*results)):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4), index
    assert not torch.allclose(results[0][0], cpu_gru.gru(rnn, x, h0)[0].detach(), atol=1e-3)


def test_a_weight_dropped_gru_still_folds_its_embedding():
    config = ModelConfig(
        vocab_size=12, cell="gru", hidden_size=16, embedding_size=8, weight_drop=0.5
    )
    model = build_model(config)
    ids = torch.randint(0, 12, (4, 24))
    assert model.folds_embedding(ids)
    torch.manual_seed(2)
    first = model(ids, None, ids)[0]
    torch.manual_seed(3)
    assert not torch.allclose(first, model(ids, None, ids)[0])  # a new mask each call
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(ids, None, ids)[0], model(ids, None, ids)[0])
