"""glibc's allocator setting for CPU training (``mallopt`` through ctypes).

A training step frees and allocates the same few-megabyte buffers every step (gates, gradients,
activations). glibc returns blocks over 128 KB to the kernel when they are freed, so each new one
starts with page faults on every 4 KB page; raising its mmap and trim thresholds keeps them in
the heap for reuse (see docs/experiments.md). Memory is kept, not leaked: the heap holds what
the peak step needed.
"""

from __future__ import annotations

import ctypes
import ctypes.util

from recur.kernels import enabled

# glibc's mallopt parameters (malloc.h) and the size below which blocks stay in the heap
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
HEAP_LIMIT = 1 << 30


def keep_freed_memory() -> bool:
    """Keep freed blocks under ``HEAP_LIMIT`` in the C heap (glibc only; False elsewhere, and
    when the kernels are off)."""
    if not enabled():
        return False
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):  # no C library to load, or not glibc's
        mallopt = None
    return mallopt is not None and all(
        mallopt(option, HEAP_LIMIT) == 1 for option in (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD)
    )
