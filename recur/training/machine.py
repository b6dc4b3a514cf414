"""What this machine gives a run: the device and PyTorch's thread count (fewer when other
processes already hold cores). A CPU run also keeps freed memory in the C heap
(``recur.kernels.allocator``, off when the kernels are).
"""

from __future__ import annotations

import os
import time

import torch

from recur.config.options import TrainConfig
from recur.kernels import allocator
from recur.runs.devices import resolve_device


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
    """Threads for PyTorch: ``--threads``, else the cores other processes leave free: with
    another process holding a core, threads that need every core wait on each other and
    training slows far more than one thread fewer would (see docs/experiments.md)."""
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
    device = resolve_device(name or train.device)
    if device.type == "cpu":
        allocator.keep_freed_memory()
    return device
