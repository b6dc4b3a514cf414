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
from recur.kernels.onednn import products_dtype

# Steps per block: a block's coefficients, (B, BLOCK, H) each, stay in the cache between uses.
BLOCK = 32


def usable(x: torch.Tensor) -> bool:
    """Whether ``scan`` may stand in for the log-space scan on tensors like ``x``: fp32, or
    the bf16 gate products of a CPU bf16 autocast (the scan itself then runs in fp32)."""
    return (
        enabled()
        and x.device.type == "cpu"
        and x.dtype in (torch.float32, torch.bfloat16)
        and (not torch.is_autocast_enabled("cpu") or products_dtype() is not None)
    )


def scan(kind: str, k: torch.Tensor, h0: torch.Tensor | None) -> torch.Tensor:
    """h (B, T, H) of minGRU (``kind="mingru"``, k = (z, h~) pre-activations) or minLSTM
    (k = (f, i, h~)), k (B, T, G*H) batch first, from h0 (B, H) (None: zeros)."""
    gates = 2 if kind == "mingru" else 3
    if h0 is None:
        h0 = k.new_zeros(k.shape[0], k.shape[2] // gates, dtype=torch.float32)
    return MinRecurrence.apply(k.contiguous(), h0, kind == "mingru")


def _positive(x: torch.Tensor) -> torch.Tensor:
    """min_rnn.g(x) = relu(x) + sigmoid(min(x, 0)): the same values without torch.where,
    which is several times slower here."""
    return torch.relu(x).add_(torch.sigmoid(x.clamp_max(0)))


def _positive_and_slope(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """g(x) and g'(x): 1 for x >= 0, sigmoid'(x) below (where sigmoid'(min(x, 0)) is 0.25
    above), sharing one sigmoid."""
    s = torch.sigmoid(x.clamp_max(0))
    slope = (s - s * s).add_((x >= 0).to(x.dtype), alpha=0.75)
    return torch.relu(x).add_(s), slope


def _steps(k: torch.Tensor, mingru: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """minGRU: z and g(h~), stepped as h_t = lerp(h_{t-1}, g, z) = (1 - z) h_{t-1} + z g;
    minLSTM: a, b of h_t = a_t h_{t-1} + b_t. From the gate pre-activations."""
    if mingru:
        k_z, k_h = k.chunk(2, -1)
        return torch.sigmoid(k_z), _positive(k_h)
    k_f, k_i, k_h = k.chunk(3, -1)
    f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
    total = f + i
    return f / total, i / total * _positive(k_h)


def _coefficients(k: torch.Tensor, mingru: bool) -> tuple:
    """a, g(h~) and the factors of the gradient of each gate block: with
    u = dL/db * g - dL/da = dL/dh_t * (g - h_{t-1}), a gate's gradient is its factor times u
    (z, or f and i) and h~'s is dL/dh_t times its factor."""
    if mingru:
        k_z, k_h = k.chunk(2, -1)
        z = torch.sigmoid(k_z)
        a = 1 - z
        g, slope = _positive_and_slope(k_h)
        return a, g, (z * a,), slope.mul_(z)
    k_f, k_i, k_h = k.chunk(3, -1)
    f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
    total = f + i
    shared = f * i / (total * total)
    gates = (-(1 - f) * shared, (1 - i) * shared)
    g, slope = _positive_and_slope(k_h)
    return f / total, g, gates, slope.mul_(i / total)


class MinRecurrence(torch.autograd.Function):
    """k (B, T, G*H), h0 (B, H) -> h (B, T, H), ``BLOCK`` steps at a time: each block's
    coefficients are formed, used and dropped while they are in the cache (and formed again in
    the backward pass), so only k and h are kept. Backward: the gradient reaching h_t,
    G_t = dh_t + a_{t+1} G_{t+1}, is the same recurrence run backwards; then d b_t = G_t,
    d a_t = G_t h_{t-1}, d h0 = a_1 G_1, and the chain rule through the gates."""

    @staticmethod
    def forward(ctx, k: torch.Tensor, h0: torch.Tensor, mingru: bool) -> torch.Tensor:
        h = h0.new_empty(k.shape[0], k.shape[1], h0.shape[1])
        outs = h.unbind(1)  # every step's view made at once: indexing costs microseconds each
        previous = h0
        for start in range(0, k.shape[1], BLOCK):
            first, second = _steps(k[:, start : start + BLOCK].float(), mingru)
            for out, a_t, b_t in zip(
                outs[start : start + BLOCK], first.unbind(1), second.unbind(1)
            ):
                previous = (
                    torch.lerp(previous, b_t, a_t, out=out)
                    if mingru
                    else torch.addcmul(b_t, a_t, previous, out=out)
                )
        ctx.mingru = mingru
        ctx.save_for_backward(k, h, h0)
        return h

    @staticmethod
    def backward(ctx, grad_h: torch.Tensor):
        k, h, h0 = ctx.saved_tensors
        grad_k = torch.empty_like(k)  # bf16 gate products take a bf16 gradient, cast in cache
        width = h.shape[2]
        a_next, grad_next = torch.zeros_like(h0), torch.zeros_like(h0)  # a_{t+1}, G_{t+1}
        grads_h = grad_h.unbind(1)
        for start in reversed(range(0, k.shape[1], BLOCK)):
            end = min(start + BLOCK, k.shape[1])
            a, g, gates, candidate = _coefficients(k[:, start:end].float(), ctx.mingru)
            grad = torch.empty_like(a)
            steps = zip(grads_h[start:end], grad.unbind(1), a.unbind(1))
            for grad_h_t, grad_t, a_t in reversed(list(steps)):
                grad_next = torch.addcmul(grad_h_t, a_next, grad_next, out=grad_t)
                a_next = a_t
            before = (
                h[:, start - 1 : end - 1] if start else torch.cat([h0[:, None], h[:, : end - 1]], 1)
            )
            u = (g - before).mul_(grad)  # dL/dh_t * (g_t - h_{t-1})
            block = grad_k[:, start:end]  # each gate's gradient written in place
            for index, factor in enumerate(gates):
                torch.mul(factor, u, out=block[..., index * width : (index + 1) * width])
            torch.mul(grad, candidate, out=block[..., len(gates) * width :])
        return grad_k, a_next * grad_next, None
