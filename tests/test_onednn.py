"""onednn.py: the oneDNN product gives addmm's numbers and gradients, and falls back cleanly."""

import torch

from recur.kernels import onednn


def test_linear_matches_addmm_and_falls_back(monkeypatch):
    torch.manual_seed(0)
    x, weight, bias = torch.randn(37, 19), torch.randn(23, 19), torch.randn(23)
    exact = torch.addmm(bias, x, weight.t())
    assert torch.allclose(onednn.linear(x, weight, bias), exact, atol=1e-5)
    assert torch.allclose(onednn.linear(x, weight), x @ weight.t(), atol=1e-5)
    # transposed (non-contiguous) operands give the same products
    assert torch.allclose(
        onednn.linear(x.t().contiguous().t(), weight.t().contiguous().t()),
        x @ weight.t(),
        atol=1e-5,
    )
    half = onednn.linear(x.bfloat16(), weight.bfloat16(), bias.bfloat16())
    assert half.dtype == torch.bfloat16
    monkeypatch.setattr(onednn, "kernel", lambda: None)
    assert torch.equal(onednn.linear(x, weight, bias), exact)


def test_linear_function_gradients_match_autograd():
    torch.manual_seed(1)
    x, weight, bias = (
        torch.randn(shape, requires_grad=True) for shape in ((40, 16), (24, 16), (24,))
    )
    grad = torch.randn(40, 24)
    ours = torch.autograd.grad(onednn.Linear.apply(x, weight, bias), (x, weight, bias), grad)
    theirs = torch.autograd.grad(torch.addmm(bias, x, weight.t()), (x, weight, bias), grad)
    for a, b in zip(ours, theirs):
        assert torch.allclose(a, b, atol=1e-4)
