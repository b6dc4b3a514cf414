"""The device a command runs on, decided in one place: ``--device auto`` (the default of
``recur train``, ``generate``, ``evaluate`` and ``predict``, and of ``recur.load``) is the first
CUDA GPU when PyTorch sees one, else the CPU; ``cuda`` without a GPU is a one-line error. Also
``exact_fp32``: fp32 that is fp32 on a GPU too, where sampling must match the CPU's."""

from __future__ import annotations

import contextlib

import torch

from recur.errors import RecurError

AUTO = "auto"


def device_name(name: str | torch.device | None = AUTO) -> str:
    """``auto`` (or None) -> ``cuda`` or ``cpu``; any other name checked and returned as it is."""
    name = str(name or AUTO)
    if name == AUTO:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RecurError(f"--device {name}: no CUDA device is available here; use --device cpu")
    try:
        torch.device(name)
    except RuntimeError:
        raise RecurError(f"--device {name}: give cpu, cuda, cuda:N or auto") from None
    return name


def resolve_device(name: str | torch.device | None = AUTO) -> torch.device:
    """The ``torch.device`` that ``--device name`` means here."""
    return torch.device(device_name(name))


@contextlib.contextmanager
def exact_fp32(device: str | torch.device):
    """On a CUDA device, cuDNN's recurrent layers in full fp32 (IEEE) products inside the block:
    by default they take TF32 products (10-bit mantissas), which would make a GPU's fp32
    sampling differ from the CPU's. Elsewhere, nothing changes."""
    if torch.device(device).type != "cuda":
        yield
        return
    rnn = getattr(torch.backends.cudnn, "rnn", None)  # the per-op setting of newer PyTorch
    if rnn is not None and hasattr(rnn, "fp32_precision"):
        before = rnn.fp32_precision
        rnn.fp32_precision = "ieee"
        try:
            yield
        finally:
            rnn.fp32_precision = before
        return
    before_tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = before_tf32
