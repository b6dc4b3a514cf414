"""glibc's allocator setting for CPU training (``mallopt`` through ctypes).

A training step frees and allocates the same few-megabyte buffers every step (gates, gradients,
activations). glibc returns blocks over 128 KB to the kernel when they are freed, so each new one
starts with page faults on every 4 KB page; raising its mmap and trim thresholds keeps them in
the heap for reuse (see docs/experiments.md). Memory is kept, not leaked: the heap holds what
the peak step needed. ``release_freed_memory`` hands the free pages back between phases (after a
validation, its samples and checkpoints), so blocks freed by one phase are not kept resident
beside the next phase's, and the peak does not creep up with each validation.
"""

from __future__ import annotations

import ctypes

from recur.kernels import enabled

# glibc's mallopt parameters (malloc.h) and the size below which blocks stay in the heap
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
HEAP_LIMIT = 1 << 30


def _glibc(function: str):
    """glibc's ``function`` through ctypes, or None (another C library, or none to load).
    From the symbols already loaded: ``find_library`` would fork ``ldconfig`` from a process
    that may hold gigabytes, and that child's copy counts in its parent's ``ru_maxrss``."""
    try:
        return getattr(ctypes.CDLL(None), function)
    except (OSError, AttributeError):  # no C library to load, or not glibc's
        return None


def keep_freed_memory() -> bool:
    """Keep freed blocks under ``HEAP_LIMIT`` in the C heap (glibc only; False elsewhere, and
    when the kernels are off)."""
    if not enabled():
        return False
    mallopt = _glibc("mallopt")
    return mallopt is not None and all(
        mallopt(option, HEAP_LIMIT) == 1 for option in (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD)
    )


def release_freed_memory() -> bool:
    """Return the heap's free pages to the kernel (``malloc_trim``; True where it released
    any). Blocks stay allocated; the next phase touches again only the pages it uses."""
    trim = _glibc("malloc_trim")
    return trim is not None and trim(0) == 1
