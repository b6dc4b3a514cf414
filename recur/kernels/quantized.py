"""int8 products through PyTorch's quantized (fbgemm) ops: weights quantized once, one scale per
output row (symmetric, zero point 0), and packed; inputs quantized on the fly at each call.

PyTorch marks the quantized tensor API deprecated; ``pack`` is the one place that calls it, and
silences the warning there. With the kernels off (``RECUR_PORTABLE``) ``available()`` is False
and the caller chooses another precision.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn

from recur.errors import RecurError
from recur.kernels import enabled


def available() -> bool:
    """Whether int8 products may be used (the kernels are on)."""
    return enabled()


def pack(weight: Tensor, bias: Tensor | None):
    """fbgemm's packed int8 form of ``weight`` (N, K) and fp32 ``bias`` (N,), for
    ``Int8Linear``; a RecurError where this PyTorch build has no quantized ops."""
    scales = (weight.abs().amax(1).clamp_min(1e-12) / 127).double()
    try:
        with warnings.catch_warnings():  # PyTorch marks the quantized tensor API deprecated
            warnings.simplefilter("ignore")
            quantized = torch.quantize_per_channel(
                weight.float(), scales, torch.zeros_like(scales, dtype=torch.long), 0, torch.qint8
            )
            return torch.ops.quantized.linear_prepack(quantized, bias)
    except (RuntimeError, AttributeError) as error:
        raise RecurError(
            f"--precision int8 is not available in this PyTorch build ({error}); use fp32 or bf16"
        ) from None


class Int8Linear(nn.Module):
    """``x (B, K) -> x @ weight.T + bias`` from ``pack``'s int8 weight, ``x`` quantized per call
    (reduced range, as fbgemm wants). TorchScript-ready: the sampling steps hold one."""

    def __init__(self, weight: Tensor, bias: Tensor | None):
        super().__init__()
        self.packed = pack(weight, bias)

    def forward(self, x: Tensor) -> Tensor:
        return torch.ops.quantized.linear_dynamic(x, self.packed, True)
