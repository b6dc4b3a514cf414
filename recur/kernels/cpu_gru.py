"""A faster GRU for CPU training: the same parameters and numbers as ``nn.GRU`` (unidirectional,
batch first), computed layer by layer with a hand-written backward for the loop over time.

PyTorch's CPU GRU records every gate operation of every time step for autograd, and its
backward replays them one by one, computing a weight gradient at each step. Here each layer
(a) does its input products for all steps in one matrix product (for a character model's first
layer, a lookup in ``embedding @ W_ih.T``: see ``embedded_inputs``), (b) keeps the loop over
time to one recurrent product and five small element-wise operations, storing the gates it
needs, (c) walks back over time with one product and three element-wise operations per step
(the factors that do not depend on the incoming gradient are computed for all steps at once),
and (d) forms the recurrent weight gradient once, as one product over all T x B rows: a CPU
training step takes a sixth to a quarter less time than with ``nn.GRU`` (see
docs/experiments.md).
Layers run time-major, (T, B, .), so that each step's rows are contiguous. CUDA keeps cuDNN;
autocast, inference (one stream of validation, where nn.GRU's C++ loop costs less per step
than Python) and portable runs (``recur.kernels.enabled()`` False) use ``nn.GRU``.
"""

from __future__ import annotations

from typing import TypeGuard

import torch
from torch import nn
from torch.nn import functional as F

from recur.kernels import enabled
from recur.kernels.onednn import Linear, linear, products_dtype


def usable(rnn: nn.Module, x: torch.Tensor) -> TypeGuard[nn.GRU]:
    """Whether ``gru`` can stand in for ``rnn`` on input ``x`` (never with the kernels off)."""
    return (
        enabled()
        and isinstance(rnn, nn.GRU)
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and rnn.batch_first
        and not rnn.bidirectional
        and rnn.bias
        and (not torch.is_autocast_enabled("cpu") or products_dtype() is not None)
        and torch.is_grad_enabled()
    )


def forward(rnn: nn.Module, x: torch.Tensor, h0: torch.Tensor | None = None) -> tuple:
    """``rnn(x, h0)``, through ``gru`` where it can stand in."""
    return gru(rnn, x, h0) if usable(rnn, x) else rnn(x, h0)


def embedded_inputs(embedding: nn.Embedding, rnn: nn.GRU, ids: torch.Tensor) -> torch.Tensor:
    """Layer 0's input products for batch-first ``ids`` (B, T), time-major (T, B, 3H), looked up
    in the (V, 3H) table ``embedding @ W_ih0.T + b_ih0``: the same sums as embedding first and
    multiplying after, but for a character vocabulary (V much smaller than B x T) the product
    and its two backward products shrink from B x T rows to V rows."""
    w_ih, _, b_ih, _ = parameters(rnn, 0)
    table = torch.addmm(b_ih, embedding.weight, w_ih.t())
    return F.embedding(ids.t(), table)


def parameters(rnn: nn.GRU, layer: int) -> tuple[torch.Tensor, ...]:
    """Layer ``layer``'s W_ih, W_hh, b_ih, b_hh."""
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    return tuple(getattr(rnn, f"{name}_l{layer}") for name in names)


def gru(
    rnn: nn.GRU,
    x: torch.Tensor | None,
    h0: torch.Tensor | None,
    first: torch.Tensor | None = None,
    weight_drop: float = 0.0,
) -> tuple:
    """``rnn(x, h0)`` for batch-first ``x`` (B, T, I): returns out (B, T, H), h (L, B, H). With
    ``first`` (layer 0's input products, (T, B, 3H), from ``embedded_inputs``) ``x`` is unused.
    ``weight_drop``: DropConnect on each layer's W_hh, one mask per call (AWD-LSTM's)."""
    if first is not None:
        seq = first  # layer 0's input products; each layer's output from then on
    elif x is not None:
        seq = x.transpose(0, 1).contiguous()  # (T, B, I)
    else:
        raise ValueError("gru needs x or first")
    steps, batch = seq.shape[:2]
    low = products_dtype()
    if h0 is None:
        h0 = parameters(rnn, 0)[1].new_zeros(rnn.num_layers, batch, rnn.hidden_size)
    last = []
    for layer in range(rnn.num_layers):
        w_ih, w_hh, b_ih, b_hh = parameters(rnn, layer)
        if weight_drop:
            w_hh = F.dropout(w_hh, weight_drop, training=True)
        if layer == 0 and first is not None:
            inputs = first
        else:
            if layer > 0 and rnn.dropout > 0:
                seq = F.dropout(seq, rnn.dropout, rnn.training)
            # W_i x + b_i for every step in one product
            inputs = Linear.apply(seq.reshape(steps * batch, -1), w_ih, b_ih, low)
            inputs = inputs.view(steps, batch, -1)
        seq, h = GRURecurrence.apply(inputs, h0[layer], w_hh, b_hh, low)
        last.append(h)
    return seq.transpose(0, 1), torch.stack(last)


class GRURecurrence(torch.autograd.Function):
    """One layer's loop over time, given its input products: inputs (T, B, 3H) = W_i x + b_i,
    h (B, H) -> out (T, B, H), h_T (B, H). Gates in PyTorch's order (r, z, n): r, z = sigmoid(.),
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h = n + z * (h - n).
    The per-step views are made once, before the loops: indexing inside them would cost a few
    microseconds per view and step, a sizeable share of a step's small operations."""

    @staticmethod
    def forward(ctx, inputs, h, w_hh, b_hh, low=None):
        steps, batch, three = inputs.shape
        size, two = three // 3, 2 * three // 3
        hs = h.new_empty(steps + 1, batch, size)  # h_0 .. h_T
        hs[0] = h
        recurrent = h.new_empty(steps, batch, three)  # W_h h + b_h at each step
        rz = h.new_empty(steps, batch, two)
        n = h.new_empty(steps, batch, size)
        w_low = None if low is None else w_hh.to(low)
        for in_rz, in_n, rec, rec_rz, rec_n, rz_t, r_t, z_t, n_t, h_next in zip(
            inputs[..., :two].unbind(0),
            inputs[..., two:].unbind(0),
            recurrent.unbind(0),
            recurrent[..., :two].unbind(0),
            recurrent[..., two:].unbind(0),
            rz.unbind(0),
            rz[..., :size].unbind(0),
            rz[..., size:].unbind(0),
            n.unbind(0),
            hs[1:].unbind(0),
        ):
            if w_low is None:
                rec.copy_(linear(h, w_hh, b_hh))
            else:  # the bf16 product, its bias added in fp32
                torch.add(linear(h.to(low), w_low), b_hh, out=rec)
            torch.add(in_rz, rec_rz, out=rz_t).sigmoid_()
            torch.addcmul(in_n, r_t, rec_n, out=n_t).tanh_()
            h = torch.lerp(n_t, h, z_t, out=h_next)  # n + z (h - n)
        ctx.save_for_backward(hs, recurrent, rz, n, w_hh)
        ctx.low = low
        return hs[1:], h.clone()

    @staticmethod
    def backward(ctx, grad_out, grad_h):
        hs, recurrent, rz, n, w_hh = ctx.saved_tensors
        steps, batch, size = n.shape
        factors, to_n = _factors(hs, recurrent[..., 2 * size :], rz, n)
        grad_recurrent = n.new_empty(steps, batch, 3, size)  # d (W_h h + b_h)
        grads = n.new_empty(steps, batch, size)  # dL/dh_t, all paths
        dh = grad_h  # autograd passes zeros for an output that was not used
        low = ctx.low
        w_hh_t = w_hh.t().contiguous()  # dh W_h = linear(dh, W_h^T)
        if low is not None:
            w_hh_t = w_hh_t.to(low)
        for g_out, g_t, f_t, gr_t, gr_flat, z_t in reversed(
            list(
                zip(
                    grad_out.unbind(0),
                    grads.unbind(0),
                    factors.unbind(0),
                    grad_recurrent.unbind(0),
                    grad_recurrent.view(steps, batch, 3 * size).unbind(0),
                    rz[..., size:].unbind(0),
                )
            )
        ):
            dh = torch.add(dh, g_out, out=g_t)
            torch.mul(f_t, dh.unsqueeze(1), out=gr_t)
            if low is None:
                dh = linear(gr_flat, w_hh_t).addcmul_(dh, z_t)
            else:  # bf16 product, the sum in fp32
                dh = torch.addcmul(linear(gr_flat.to(low), w_hh_t), dh, z_t)
        grad_recurrent = grad_recurrent.view(steps, batch, 3 * size)
        flat = grad_recurrent.view(steps * batch, 3 * size)
        previous = hs[:-1].reshape(steps * batch, size)
        if low is None:
            grad_w_hh = flat.t() @ previous  # (see onednn.Linear)
        else:
            grad_w_hh = (flat.to(low).t() @ previous.to(low)).float()
        grad_b_hh = flat.sum(0)
        # d (W_i x + b_i) is d (W_h h + b_h) but for n, which has no r factor: done in place,
        # now that the recurrent gradients are formed
        torch.mul(grads, to_n, out=grad_recurrent[..., 2 * size :])
        return grad_recurrent, dh, grad_w_hh, grad_b_hh, None


def _factors(hs, recurrent_n, rz, n) -> tuple:
    """(T, B, 3, H) factors f with d (W_h h + b_h) = dh * f at each step, and d pre_n / dh.

    d pre_n = dh (1 - z)(1 - n^2), d pre_z = dh (h_prev - n) z (1 - z), d pre_r = d pre_n
    (W_hn h + b_hn) r (1 - r), and d (W_hn h + b_hn) = d pre_n r. They do not depend on dh, so
    they are computed for all steps at once, written straight into their slots."""
    steps, batch, size = n.shape
    r, z = rz[..., :size], rz[..., size:]
    factors = n.new_empty(steps, batch, 3, size)
    f_r, f_z, f_n = factors.unbind(2)
    keep = 1 - z
    to_n = torch.addcmul(keep, keep, n * n, value=-1)  # (1 - z)(1 - n^2)
    torch.mul(to_n, r, out=f_n)
    torch.mul(f_n, recurrent_n, out=f_r).addcmul_(f_r, r, value=-1)
    torch.sub(hs[:-1], n, out=f_z).mul_(z).mul_(keep)
    return factors, to_n
