"""The chunked cross-entropy equals F.cross_entropy, value and gradients, and a word model's
training loss goes through it without ever forming all the logits."""

import weakref

import torch
import torch.nn.functional as F

from recur.config.options import ModelConfig
from recur.models import chunked_loss
from recur.models.chunked_loss import chunked_cross_entropy
from recur.models.language_model import build_model


def _inputs(bias: bool = True):
    generator = torch.Generator().manual_seed(0)
    hidden = torch.randn(37, 8, generator=generator, requires_grad=True)
    weight = torch.randn(50, 8, generator=generator, requires_grad=True)
    bias_ = torch.randn(50, generator=generator, requires_grad=True) if bias else None
    targets = torch.randint(0, 50, (37,), generator=generator)
    return hidden, weight, bias_, targets


def test_chunked_loss_matches_full_loss_and_gradients():
    for bias in (True, False):
        hidden, weight, b, targets = _inputs(bias)
        wrt = [t for t in (hidden, weight, b) if t is not None]
        full = F.cross_entropy(F.linear(hidden, weight, b), targets)
        expected = torch.autograd.grad(full * 3.0, wrt)
        # 5 rows per chunk: 8 chunks, the last one shorter
        chunked = chunked_cross_entropy(hidden, weight, b, targets, chunk_elements=250)
        got = torch.autograd.grad(chunked * 3.0, wrt)
        torch.testing.assert_close(chunked, full, rtol=1e-5, atol=1e-6)
        for g, e in zip(got, expected):
            torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-6)


def test_chunked_loss_without_gradients_gives_the_same_value():
    hidden, weight, b, targets = _inputs()
    with torch.no_grad():
        full = F.cross_entropy(F.linear(hidden, weight, b), targets)
        chunked = chunked_cross_entropy(hidden, weight, b, targets, chunk_elements=250)
    torch.testing.assert_close(chunked, full, rtol=1e-5, atol=1e-6)


def test_word_model_loss_is_chunked_and_unchanged(monkeypatch):
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=300, hidden_size=16, embedding_size=16, num_layers=1)
    model = build_model(config)
    ids = torch.randint(0, 300, (4, 12))
    targets = torch.randint(0, 300, (4, 12))
    full_loss, _ = model(ids, targets=targets)
    full = torch.autograd.grad(full_loss, list(model.parameters()))
    seen = []
    real = chunked_loss._ChunkedLoss.apply
    monkeypatch.setattr(chunked_loss, "CHUNK_ELEMENTS", 300 * 7)
    monkeypatch.setattr(chunked_loss.chunked_cross_entropy, "__defaults__", (300 * 7,))
    monkeypatch.setattr(
        chunked_loss._ChunkedLoss, "apply", lambda *a: seen.append(a[-1]) or real(*a)
    )
    chunked_loss_value, _ = model(ids, targets=targets)
    chunked = torch.autograd.grad(chunked_loss_value, list(model.parameters()))
    assert seen == [7]  # 48 rows in chunks of 7 logit rows
    torch.testing.assert_close(chunked_loss_value, full_loss, rtol=1e-5, atol=1e-6)
    for g, e in zip(chunked, full):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-6)


def test_one_chunk_of_log_probabilities_is_alive_at_a_time(monkeypatch):
    """Each chunk's (rows, V) blocks are freed before the next chunk's logits are formed (the
    next chunk then reuses them: a CPU heap that keeps freed blocks does not grow by a chunk),
    with and without gradients, in fp32 and under a bf16 autocast."""
    alive, real = [], torch.log_softmax

    def log_softmax(*args, **kwargs):
        alive.append(sum(ref() is not None for ref in made))
        out = real(*args, **kwargs)
        made.append(weakref.ref(out))
        return out

    monkeypatch.setattr(torch, "log_softmax", log_softmax)
    for grad, autocast in ((True, False), (False, False), (True, True)):
        made, alive[:] = [], []
        hidden, weight, b, targets = _inputs()
        with torch.set_grad_enabled(grad), torch.autocast("cpu", enabled=autocast):
            loss = chunked_cross_entropy(hidden, weight, b, targets, chunk_elements=250)
        assert len(alive) == 8 and alive == [0] * 8, (grad, autocast, alive)
        assert torch.isfinite(loss)
