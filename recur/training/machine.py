"""What this machine gives a run: the device, PyTorch's thread count (fewer when other processes
already hold cores), and an allocator setting for CPU training.

``keep_freed_memory``: a training step frees and allocates the same few-megabyte buffers every
step (gates, gradients, activations). glibc returns blocks over 128 KB to the kernel when they
are freed, so each new one starts with page faults on every 4 KB page; raising its mmap and trim
thresholds keeps them in the heap for reuse. On the 2-core AMD EPYC (one process, the two paths
alternated) a 2x256 LSTM step (batch 32, 64 steps) took 71 ms instead of 84, and a GRU step
through ``cpu_gru`` 113 ms instead of 137. Memory is kept, not leaked: the heap holds what the
peak step needed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import time

import torch

from recur.config.options import TrainConfig
from recur.errors import RecurError

# glibc's mallopt parameters (malloc.h) and the size below which blocks stay in the heap
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
HEAP_LIMIT = 1 << 30


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat", encoding="ascii") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    return sum(values), values[3] + values[4]  # total, idle + iowait


def busy_cores(window: float = 0.25) -> float:
    """Cores other processes keep busy now, measured over ``window`` seconds while we sleep
    (the load average lags by a minute, so a job that just ended would still count)."""
    try:
        total, idle = _cpu_times()
        time.sleep(window)
        total2, idle2 = _cpu_times()
    except (OSError, ValueError, IndexError):
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    busy = 1.0 - (idle2 - idle) / max(total2 - total, 1)
    return busy * (os.cpu_count() or 1)


def auto_threads(train: TrainConfig) -> tuple[int, str | None]:
    """Threads for PyTorch: ``--threads``, else the cores other processes leave free.

    Measured on 2 cores: with another process holding one core, two-thread training runs at
    25-45% of its speed (the threads wait on each other) while one thread keeps its pace."""
    cores = os.cpu_count() or 1
    if train.threads:
        return train.threads, None
    load = busy_cores()
    free = max(1, min(cores, round(cores - load)))
    if free == cores:
        return cores, None
    return free, (
        f"the CPU is already busy ({load:.1f} of {cores} cores in use): training with "
        f"{free} thread{'s' if free > 1 else ''}; --threads {cores} overrides"
    )


def choose_device(train: TrainConfig, name: str | None = None, threads: int | None = None):
    torch.set_num_threads(threads or train.threads or os.cpu_count() or 1)  # threads: decided
    name = name or train.device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RecurError("--device cuda: no CUDA device is available here; use --device cpu")
    device = torch.device(name)
    if device.type == "cpu":
        keep_freed_memory()
    return device


def keep_freed_memory() -> bool:
    """Keep freed blocks under ``HEAP_LIMIT`` in the C heap (glibc only; False elsewhere)."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):  # no C library to load, or not glibc's
        mallopt = None
    return mallopt is not None and all(
        mallopt(option, HEAP_LIMIT) == 1 for option in (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD)
    )
