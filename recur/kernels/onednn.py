"""Dense products through oneDNN: fp32 where PyTorch's BLAS is the slower, bf16 on CPUs with
bf16 instructions (AMX tiles or AVX-512 bf16).

``torch.mm`` and ``torch.addmm`` on CPU call MKL's sgemm; PyTorch also ships oneDNN, whose
``linear`` (``torch.ops.mkldnn._linear_pointwise``, a private op: the kernel ``torch.compile``
uses for linear layers on CPU) takes ordinary dense tensors. On some AVX-512 CPUs MKL takes its
AVX2 path and oneDNN's product is about twice as fast (see docs/experiments.md). ``nn.LSTM``
already runs inside oneDNN; ``cpu_gru.py`` calls ``linear`` here, and the sampling steps
(generate/step_modules.py) call ``linear_rows``.

``kernel()`` checks the oneDNN op once, on small tensors, against ``torch.addmm``, and gives it
only when it exists and agrees and the kernels are on (``recur.kernels.enabled``); otherwise,
and for tensors that are not fp32 or bf16 on the CPU, ``linear`` is ``torch.addmm`` /
``torch.mm``. ``fast_bf16()`` says whether bf16 products pay here (AMX or AVX-512 bf16), and
``products_dtype()`` whether the caller runs under a CPU bf16 autocast (``--precision bf16``),
which the hand-written kernels read. Each kernel is deterministic, so a run and its resume (on
the same machine and PyTorch, with the same switch) compute the same numbers.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from recur.kernels import enabled

WIDTHS = (torch.float32, torch.bfloat16)  # the dtypes the oneDNN product is given


def kernel():
    """The oneDNN linear op when the kernels are on and this PyTorch has one that agrees with
    ``torch.addmm``, else None."""
    return _checked_kernel() if enabled() else None


def fast_bf16() -> bool:
    """Whether bf16 products are the faster choice for CPU training here: the kernels on, and a
    CPU with bf16 instructions: AMX tiles (a bf16 product several times an fp32 one) or
    AVX-512 bf16 (AMD Zen 4, Intel Cooper Lake: about twice); see docs/experiments.md. Without
    them oneDNN emulates bf16, slower than fp32, and it stays off."""
    if not (enabled() and kernel() is not None):
        return False
    return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


def products_dtype() -> torch.dtype | None:
    """bf16 inside a CPU bf16 autocast (``--precision bf16``): the hand-written kernels then run
    their matrix products in bf16 while the recurrence's state, gates and weights stay fp32;
    None: fp32 throughout."""
    if torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16:
        return torch.bfloat16
    return None


@functools.cache
def _checked_kernel():
    with torch.autocast("cpu", enabled=False):  # the first call may come inside one
        return _agreeing_kernel()


def _agreeing_kernel():
    try:
        op = torch.ops.mkldnn._linear_pointwise
        generator = torch.Generator().manual_seed(0)
        x, weight, bias = (
            torch.randn(shape, generator=generator) for shape in ((5, 7), (3, 7), (3,))
        )
        exact = torch.addmm(bias, x, weight.t())
        same = torch.allclose(op(x, weight, bias, "none", [], ""), exact, atol=1e-5)
        return (
            op
            if same
            and torch.allclose(op(x, weight, None, "none", [], ""), x @ weight.t(), atol=1e-5)
            else None
        )
    except (AttributeError, RuntimeError):
        return None


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None):
    """``x @ weight.T (+ bias)`` for 2-D ``x`` (N, I), ``weight`` (O, I): (N, O), in their
    dtype (fp32, or bf16 where ``bf16_products`` found the hardware for it)."""
    op = kernel() if x.device.type == "cpu" and x.dtype in WIDTHS else None
    if op is None:
        return x @ weight.t() if bias is None else torch.addmm(bias, x, weight.t())
    return op(x.contiguous(), weight.contiguous(), bias, "none", [], "")


def linear_rows(x: Tensor, weight_rows: Tensor, bias: Tensor) -> Tensor:
    """``x (B, K) @ weight_rows.T + bias`` through oneDNN, ``weight_rows`` (N, K) contiguous;
    only where ``kernel()`` found the op. Written for TorchScript (which cannot call ``linear``):
    the sampling steps call it."""
    scalars: list[int | float | complex | None] = []  # the op's Scalar?[]
    return torch.ops.mkldnn._linear_pointwise(
        x.contiguous(), weight_rows, bias, "none", scalars, ""
    )


class Linear(torch.autograd.Function):
    """``linear`` with dx = dy W through ``linear`` too. dW = dy^T x stays with ``torch.mm``:
    oneDNN's linear wants both operands with the summed (row) dimension contiguous, and the
    two transposing copies (6 MB for a 2048 x 768 gradient) cost more than its faster
    product saves; BLAS reads the transposes in place. With ``low`` (bf16) the operands are
    rounded to it first and the products (and the result) are bf16: fp32 master weights,
    bf16 arithmetic, as autocast does."""

    @staticmethod
    def forward(ctx, x, weight, bias, low=None):
        if low is not None:
            x, weight, bias = x.to(low), weight.to(low), bias.to(low)
        ctx.save_for_backward(x, weight)
        return linear(x, weight, bias)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        grad_x = linear(grad, weight.t()) if ctx.needs_input_grad[0] else None
        grad_weight = grad.t() @ x if ctx.needs_input_grad[1] else None
        grad_bias = grad.sum(0, dtype=torch.float32) if ctx.needs_input_grad[2] else None
        return grad_x, grad_weight, grad_bias, None
