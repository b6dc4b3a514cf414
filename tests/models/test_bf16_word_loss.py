"""A word model's loss under a bf16 autocast: the chunked full-softmax loss and the adaptive
softmax run their products in bf16 and agree with fp32 to bf16 rounding (value and gradients),
still in chunks; outside an autocast the adaptive loss is ``nn.AdaptiveLogSoftmaxWithLoss``'s."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from recur.config.options import ModelConfig
from recur.models import adaptive_loss as adaptive_loss_module
from recur.models import chunked_loss
from recur.models.adaptive_loss import adaptive_loss
from recur.models.chunked_loss import chunked_cross_entropy
from recur.models.language_model import build_model

BF16 = torch.autocast("cpu", dtype=torch.bfloat16)


def relative(a, b):
    return ((a.float() - b.float()).norm() / b.float().norm()).item()


def _inputs(rows=37, vocab=300, width=24):
    generator = torch.Generator().manual_seed(0)
    hidden = torch.randn(rows, width, generator=generator, requires_grad=True)
    weight = (torch.randn(vocab, width, generator=generator) / 3).requires_grad_()
    bias = torch.randn(vocab, generator=generator, requires_grad=True)
    targets = torch.randint(0, vocab, (rows,), generator=generator)
    return hidden, weight, bias, targets


def test_chunked_loss_under_bf16_agrees_with_fp32_and_uses_bf16_products(monkeypatch):
    hidden, weight, bias, targets = _inputs()
    wrt = [hidden, weight, bias]
    full = F.cross_entropy(F.linear(hidden, weight, bias), targets)
    expected = torch.autograd.grad(full * 3.0, wrt)
    seen = []
    real = F.linear
    monkeypatch.setattr(chunked_loss.F, "linear", lambda x, *a: seen.append(x.dtype) or real(x, *a))
    with BF16:  # 6 rows per chunk: 7 chunks, the last one shorter
        low = chunked_cross_entropy(hidden, weight, bias, targets, chunk_elements=6 * 300)
    got = torch.autograd.grad(low * 3.0, wrt)
    assert seen == [torch.bfloat16] * 7
    with BF16:  # autocast's own whole-logits loss: the same bf16 logits
        whole = F.cross_entropy(real(hidden, weight, bias).float(), targets)
    assert low.item() == pytest.approx(whole.item(), rel=1e-4, abs=1e-4)
    assert low.dtype == torch.float32 and low.item() != full.item()
    assert low.item() == pytest.approx(full.item(), rel=5e-3)
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype and relative(g, e) < 0.03


def test_chunked_loss_under_bf16_without_gradients_gives_the_same_value():
    hidden, weight, bias, targets = _inputs()
    with BF16:
        with_grads = chunked_cross_entropy(hidden, weight, bias, targets, chunk_elements=1000)
        with torch.no_grad():
            without = chunked_cross_entropy(hidden, weight, bias, targets, chunk_elements=1000)
    assert without.item() == with_grads.item()


def test_word_model_under_bf16_trains_as_in_fp32():
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=400, hidden_size=32, embedding_size=32, num_layers=2)
    model = build_model(config)
    ids, targets = torch.randint(0, 400, (4, 12)), torch.randint(0, 400, (4, 12))
    exact, _ = model(ids, targets=targets)
    exact_grads = torch.autograd.grad(exact, list(model.parameters()))
    with BF16:
        low, _ = model(ids, targets=targets)
    low_grads = torch.autograd.grad(low, list(model.parameters()))
    assert low.item() == pytest.approx(exact.item(), rel=5e-3) and low.item() != exact.item()
    for g, e in zip(low_grads, exact_grads):
        assert relative(g, e) < 0.05


def _decoder(vocab=60, cutoffs=(10, 30), width=16):
    torch.manual_seed(0)
    return nn.AdaptiveLogSoftmaxWithLoss(width, vocab, list(cutoffs), div_value=2.0)


@pytest.mark.parametrize("spread", [60, 8])  # every cluster used; the tails empty
def test_adaptive_loss_is_the_modules_loss_value_and_gradients(spread):
    decoder = _decoder()
    hidden = torch.randn(50, 16, requires_grad=True)
    targets = torch.randint(0, spread, (50,))
    wrt = [hidden, *decoder.parameters()]
    expected = decoder(hidden, targets).loss
    expected_grads = torch.autograd.grad(expected, wrt, allow_unused=True)
    got = adaptive_loss(decoder, hidden, targets)
    got_grads = torch.autograd.grad(got, wrt, allow_unused=True)
    torch.testing.assert_close(got, expected)
    for g, e in zip(got_grads, expected_grads):
        if e is None:  # an unused tail: no gradient at all, or zeros
            assert g is None or not g.any()
        else:
            torch.testing.assert_close(g, e)


def test_adaptive_loss_under_bf16_agrees_with_fp32_and_rejects_unknown_ids():
    decoder = _decoder()
    hidden = torch.randn(64, 16, requires_grad=True)
    targets = torch.randint(0, 60, (64,))
    wrt = [hidden, *decoder.parameters()]
    exact = adaptive_loss(decoder, hidden, targets)
    exact_grads = torch.autograd.grad(exact, wrt)
    with BF16:
        low = adaptive_loss(decoder, hidden, targets)
    low_grads = torch.autograd.grad(low, wrt)
    assert low.dtype == torch.float32 and low.item() != exact.item()
    assert low.item() == pytest.approx(exact.item(), rel=5e-3)
    for g, e in zip(low_grads, exact_grads):
        assert relative(g, e) < 0.03
    with pytest.raises(RuntimeError, match="Target values"):
        adaptive_loss(decoder, hidden, torch.full((64,), 60))


def test_chunked_loss_under_bf16_keeps_the_gradient_of_a_confident_prediction():
    # p(target) ~ 0.998: p - 1 must be formed before rounding to bf16 (whose spacing near 1,
    # 2^-8, would round it to 0)
    hidden, weight, bias, _ = _inputs(rows=8)
    with torch.no_grad():
        weight.mul_(0.01)
        bias.zero_()[5] = 12.0
    targets = torch.full((8,), 5)
    exact = torch.autograd.grad(F.cross_entropy(F.linear(hidden, weight, bias), targets), bias)[0]
    with BF16:
        low = chunked_cross_entropy(hidden, weight, bias, targets, chunk_elements=3 * 300)
    got = torch.autograd.grad(low, bias)[0]
    assert exact[5].item() < -1e-3
    assert got[5].item() == pytest.approx(exact[5].item(), rel=0.15)


def test_adaptive_loss_padding_of_cluster_rows_changes_nothing(monkeypatch):
    decoder = _decoder()
    hidden = torch.randn(41, 16, requires_grad=True)
    targets = torch.randint(0, 60, (41,))
    wrt = [hidden, *decoder.parameters()]
    results = []
    for multiple in (1, 64):
        monkeypatch.setattr(adaptive_loss_module, "ROW_MULTIPLE", multiple)
        with BF16:
            loss = adaptive_loss(decoder, hidden, targets)
        results.append((loss, torch.autograd.grad(loss, wrt)))
    (plain, plain_grads), (padded, padded_grads) = results
    torch.testing.assert_close(padded, plain)
    for g, e in zip(padded_grads, plain_grads):
        torch.testing.assert_close(g, e)
