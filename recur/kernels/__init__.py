"""Processor-specific, private and deprecated PyTorch ops, behind one switch: oneDNN's dense
products (``onednn``), int8 quantized products (``quantized``), glibc's allocator setting
(``allocator``), the hand-written CPU training GRU (``cpu_gru``) and minGRU/minLSTM's
recurrence stepped on the CPU (``min_scan``).

``RECUR_PORTABLE=1`` in the environment (``recur --portable``) turns them all off: plain
``torch.addmm``, ``nn.GRU``, the log-space scan, no int8 ops, no ``mallopt``. ``enabled()``
is the one place that reads it; the environment carries it to the processes a run starts
(distributed ranks). Importing this package does not import torch.
"""

from __future__ import annotations

import os

PORTABLE = "RECUR_PORTABLE"


def enabled() -> bool:
    """Whether the kernels may be used: not when ``RECUR_PORTABLE`` is set (but to 0)."""
    return os.environ.get(PORTABLE, "").strip() in ("", "0")


def set_portable(portable: bool = True) -> None:
    """Turn the kernels off (or on again) for this process and the processes it starts."""
    if portable:
        os.environ[PORTABLE] = "1"
    else:
        os.environ.pop(PORTABLE, None)
