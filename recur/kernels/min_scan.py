"""minGRU/minLSTM's recurrence for CPU training: ``h_t = a_t * h_{t-1} + b_t`` stepped with one
fused multiply-add per step, the coefficients and their gradients formed in one hand-written
autograd function from the gate pre-activations.

The paper's log-space parallel scan (``models/min_rnn.scan``) suits a GPU; on a CPU its
log-cumulative-sum-exp runs one element at a time with an exp and a log each, and its backward
runs two more, so a layer's scan cost several times its matrix products. Stepped in the linear
domain the recurrence costs one (B, H) multiply-add per step both ways: the gates stay parallel
(one product for all steps), only this cheap part loops, and no autograd graph of element-wise
operations is stored. ``usable`` decides, as ``cpu_gru.usable`` does: CPU, fp32, no autocast,
the kernels on (``RECUR_PORTABLE`` off).
"""

from __future__ import annotations

import torch

from recur.kernels import enabled


def usable(x: torch.Tensor) -> bool:
    """Whether ``scan`` may stand in for the log-space scan on tensors like ``x``."""
    return (
        enabled()
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and not torch.is_autocast_enabled("cpu")
    )


def scan(kind: str, k: torch.Tensor, h0: torch.Tensor | None) -> torch.Tensor:
    """h (B, T, H) of minGRU (``kind="mingru"``, k = (z, h~) pre-activations) or minLSTM
    (k = (f, i, h~)), k (B, T, G*H) batch first, from h0 (B, H) (None: zeros)."""
    gates = 2 if kind == "mingru" else 3
    if h0 is None:
        h0 = k.new_zeros(k.shape[0], k.shape[2] // gates)
    return MinRecurrence.apply(k.contiguous(), h0, kind == "mingru")


def _positive(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """min_rnn.g(x) and its derivative."""
    s = torch.sigmoid(x)
    above = x >= 0
    return torch.where(above, x + 0.5, s), torch.where(above, 1.0, s * (1 - s))


def _coefficients(k: torch.Tensor, mingru: bool) -> tuple:
    """a, b and what the backward needs: (z, g, g') for minGRU, (f, i, g, g') for minLSTM."""
    if mingru:
        k_z, k_h = k.chunk(2, -1)
        z = torch.sigmoid(k_z)
        g, dg = _positive(k_h)
        return 1 - z, z * g, (z, g, dg)
    k_f, k_i, k_h = k.chunk(3, -1)
    f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
    g, dg = _positive(k_h)
    total = f + i
    return f / total, i / total * g, (f, i, g, dg)


class MinRecurrence(torch.autograd.Function):
    """k (B, T, G*H), h0 (B, H) -> h (B, T, H). Backward: the gradient reaching h_t,
    G_t = dh_t + a_{t+1} G_{t+1}, is the same recurrence run backwards; then d b_t = G_t,
    d a_t = G_t h_{t-1}, d h0 = a_1 G_1, and the chain rule through the gates, all steps at once."""

    @staticmethod
    def forward(ctx, k: torch.Tensor, h0: torch.Tensor, mingru: bool) -> torch.Tensor:
        a, b, _ = _coefficients(k, mingru)
        h = torch.empty_like(b)
        previous = h0
        for t in range(k.shape[1]):
            previous = torch.addcmul(b[:, t], a[:, t], previous, out=h[:, t])
        ctx.mingru = mingru
        ctx.save_for_backward(k, h, h0)
        return h

    @staticmethod
    def backward(ctx, grad_h: torch.Tensor):
        k, h, h0 = ctx.saved_tensors
        a, _, parts = _coefficients(k, ctx.mingru)
        grad = torch.empty_like(h)
        grad[:, -1] = grad_h[:, -1]
        for t in range(k.shape[1] - 2, -1, -1):
            torch.addcmul(grad_h[:, t], a[:, t + 1], grad[:, t + 1], out=grad[:, t])
        before = torch.cat([h0[:, None], h[:, :-1]], 1)  # h_{t-1}
        grad_a, grad_b = grad * before, grad
        if ctx.mingru:
            z, g, dg = parts
            grad_k = torch.cat([z * (1 - z) * (grad_b * g - grad_a), grad_b * z * dg], -1)
        else:
            f, i, g, dg = parts
            total = f + i
            shared = (grad_b * g - grad_a) / (total * total)
            grad_k = torch.cat(
                [-f * (1 - f) * i * shared, i * (1 - i) * f * shared, grad_b * i / total * dg], -1
            )
        return grad_k, a[:, 0] * grad[:, 0], None
