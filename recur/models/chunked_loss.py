"""Cross-entropy over a large vocabulary without the whole (N, V) logits at once.

A word model's full-softmax logits are its biggest tensor: 32 x 64 tokens over 30,000 words are
245 MB in fp32, and ``F.cross_entropy`` keeps them, their log-softmax and their gradient alive
together. ``chunked_cross_entropy`` walks the N rows in chunks of about ``CHUNK_ELEMENTS`` logits:
each chunk's logits give its loss and, straight away, its gradients (softmax minus one-hot), which
are accumulated for the backward pass; the chunk's logits are then freed. The products are the
ones autograd would do (one forward, two backward), so the cost is the same and the numbers agree
with ``F.cross_entropy`` to rounding (tests/models/test_chunked_loss.py). Under a bf16/fp16
autocast the logits are made from the autocast dtype's operands, as autocast's ``F.linear``
makes them, and the gradient products too; the softmax and the sums stay fp32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

CHUNK_ELEMENTS = 1 << 22  # logits per chunk (16 MB in fp32); smaller losses take F.cross_entropy


def chunked_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    targets: torch.Tensor,
    chunk_elements: int = CHUNK_ELEMENTS,
) -> torch.Tensor:
    """Mean cross-entropy of ``targets`` (N,) under logits ``hidden @ weight.T + bias``
    (hidden (N, H), weight (V, H)); the same value and gradients as ``F.cross_entropy``."""
    rows = max(chunk_elements // weight.shape[0], 1)
    if hidden.shape[0] <= rows:
        return F.cross_entropy(F.linear(hidden, weight, bias).float(), targets)
    device = hidden.device.type
    products = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else None
    grad = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (hidden, weight, bias)
    )
    with torch.autocast(device, enabled=False):  # the chunks cast their operands themselves
        if not grad:
            return _ChunkedLoss.forward(None, hidden, weight, bias, targets, products, rows)
        return _ChunkedLoss.apply(hidden, weight, bias, targets, products, rows)


class _ChunkedLoss(torch.autograd.Function):
    """The loss and its gradients in one chunked pass; backward only scales them."""

    @staticmethod
    def forward(ctx, hidden, weight, bias, targets, products, rows):
        count = hidden.shape[0]
        dtype = products or weight.dtype  # the products' operands: autocast's, else the weight's
        low_weight = weight.to(dtype)
        low_bias = None if bias is None else bias.to(dtype)
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        grads = ctx is not None
        if grads:
            grad_hidden = torch.empty_like(hidden)
            grad_weight = torch.zeros_like(weight, dtype=torch.float32)
            grad_bias = None if bias is None else torch.zeros_like(bias, dtype=torch.float32)
        for start in range(0, count, rows):
            piece, wanted = hidden[start : start + rows].to(dtype), targets[start : start + rows]
            logits = F.linear(piece, low_weight, low_bias).float()  # (rows, V)
            norm = torch.logsumexp(logits, dim=-1)
            total += (norm - logits.gather(1, wanted[:, None]).squeeze(1)).sum()
            if not grads:
                continue
            # d(mean loss)/d(logits) = (softmax - one_hot) / N, made in place in the logits
            probs = logits.sub_(norm[:, None]).exp_()
            probs[torch.arange(len(wanted), device=probs.device), wanted] -= 1.0
            probs.div_(count)
            if dtype == torch.float32:
                grad_hidden[start : start + rows] = (probs @ low_weight).to(hidden.dtype)
                grad_weight.addmm_(probs.t(), piece)
            else:  # as autocast's backward: low-precision products, summed in fp32
                low = probs.to(dtype)
                grad_hidden[start : start + rows] = (low @ low_weight).to(hidden.dtype)
                grad_weight += low.t() @ piece
            if grad_bias is not None:
                grad_bias += probs.sum(0)
        if grads:
            ctx.save_for_backward(grad_hidden, grad_weight, grad_bias)
            ctx.has_bias = bias is not None
            ctx.dtypes = (weight.dtype, None if bias is None else bias.dtype)
        return total / count

    @staticmethod
    def backward(ctx, grad_output):
        grad_hidden, grad_weight, grad_bias = ctx.saved_tensors
        scaled_bias = None
        if ctx.has_bias:
            scaled_bias = (grad_bias * grad_output).to(ctx.dtypes[1])
        return (
            grad_hidden * grad_output.to(grad_hidden.dtype),
            (grad_weight * grad_output).to(ctx.dtypes[0]),
            scaled_bias,
            None,
            None,
            None,
        )
