"""Cross-entropy over a large vocabulary without the whole (N, V) logits at once.

A word model's full-softmax logits are its biggest tensor: 32 x 64 tokens over 30,000 words are
245 MB in fp32, and ``F.cross_entropy`` keeps them, their log-softmax and their gradient alive
together. ``chunked_cross_entropy`` walks the N rows in chunks of about ``CHUNK_ELEMENTS`` logits:
each chunk's logits give its loss and, straight away, its gradients (softmax minus one-hot), which
are accumulated for the backward pass; the chunk's logits are then freed. The products are the
ones autograd would do (one forward, two backward), so the cost is the same and the numbers agree
with ``F.cross_entropy`` to rounding (tests/models/test_chunked_loss.py).

Under a bf16 autocast (``--precision bf16``) the three products take bf16 operands (AMX on a
CPU that has it: several times the fp32 speed), while the logits' log-softmax, the loss and the
gradient sums stay fp32: the numbers agree with fp32 to bf16 rounding of the logits. fp16
autocasts keep the whole-logits ``F.cross_entropy`` (the chunk's gradients are formed before the
loss scaler multiplies them, and small ones would flush to zero in fp16).
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
    (hidden (N, H), weight (V, H)); the same value and gradients as ``F.cross_entropy`` (to bf16
    rounding of the products under a bf16 autocast)."""
    rows = max(chunk_elements // weight.shape[0], 1)
    device = hidden.device.type  # the autocast's dtype (bf16 under --precision bf16), or None
    low = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else None
    if low not in (None, torch.bfloat16) or (hidden.shape[0] <= rows and low is None):
        return F.cross_entropy(F.linear(hidden, weight, bias).float(), targets)
    grad = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (hidden, weight, bias)
    )
    with torch.autocast(device, enabled=False):  # the dtypes are chosen here
        if not grad:
            return _ChunkedLoss.forward(None, hidden, weight, bias, targets, low, rows)
        return _ChunkedLoss.apply(hidden, weight, bias, targets, low, rows)


class _ChunkedLoss(torch.autograd.Function):
    """The loss and its gradients in one chunked pass; backward only scales them. ``low``:
    the products' operand dtype (bf16), or None for the inputs' own (fp32)."""

    @staticmethod
    def forward(ctx, hidden, weight, bias, targets, low, rows):
        count = hidden.shape[0]
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        grads = ctx is not None
        width = low or torch.float32
        weight_, bias_ = weight.to(width), None if bias is None else bias.to(width)
        if grads:
            grad_hidden = torch.empty_like(hidden)
            grad_weight = torch.zeros_like(weight, dtype=torch.float32)
            grad_bias = None if bias is None else torch.zeros_like(bias, dtype=torch.float32)
        for start in range(0, count, rows):
            piece, wanted = hidden[start : start + rows].to(width), targets[start : start + rows]
            # fp32 log-probabilities whatever the products' dtype: (rows, V)
            logp = torch.log_softmax(F.linear(piece, weight_, bias_).float(), dim=-1)
            picked = logp.gather(1, wanted[:, None]).squeeze(1)
            total -= picked.sum()
            if not grads:
                del logp  # freed before the next chunk's logits, which then reuse its block
                continue
            # d(mean loss)/d(logits) = (softmax - one_hot) / N, made in place in logp; the
            # 1 / N scales the products' small outputs instead of the (rows, V) probabilities
            if low is None:
                probs = logp.exp_()
            else:  # exp and the cast to bf16 in one pass over the (rows, V) block
                probs = torch.exp(logp, out=torch.empty_like(logp, dtype=low))
            # p - 1 at the targets formed in fp32, then rounded (p near 1 keeps its gradient)
            rows_ = torch.arange(len(wanted), device=probs.device)
            probs[rows_, wanted] = (picked.exp() - 1.0).to(probs.dtype)
            scale = 1.0 / count
            grad_hidden[start : start + rows] = (probs @ weight_).mul_(scale).to(hidden.dtype)
            if low is None:
                grad_weight.addmm_(probs.t(), piece, alpha=scale)
            else:  # a bf16 product, summed over the chunks in fp32
                grad_weight.add_(probs.t() @ piece, alpha=scale)
            if grad_bias is not None:
                grad_bias.add_(probs.sum(0, dtype=torch.float32), alpha=scale)
            del logp, probs  # as above: one chunk's (rows, V) blocks alive at a time, not two
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
