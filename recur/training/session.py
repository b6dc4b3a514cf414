"""Opening and closing a training run, for every kind: ``open_run`` / ``close_run``.

Picks the threads (before our own work adds to the load), joins the torchrun group when there is
one, picks the device, and names the run directory, refusing to write over a run that is there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from recur.config.options import DataConfig, TrainConfig
from recur.errors import RecurError
from recur.training.distributed import Group, setup, teardown
from recur.training.machine import auto_threads, choose_device


@dataclass
class Session:
    group: Group
    device: torch.device
    run_dir: Path
    note: str | None  # why fewer threads than cores were taken, or None


def default_run_dir(data: DataConfig) -> Path:
    """runs/<corpus or first file's stem>, with -2, -3... when that name is taken."""
    stem = data.corpus or (Path(data.paths[0]).stem if data.paths else "run")
    candidate, number = Path("runs") / stem, 1
    while candidate.exists():
        number += 1
        candidate = Path("runs") / f"{stem}-{number}"
    return candidate


def open_run(
    train: TrainConfig,
    data: DataConfig,
    resume: str | None,
    taken: tuple[str, ...] = ("last", "best"),
) -> Session:
    """Threads, torchrun group, device and run directory of a new or resumed run; a new run
    refuses a directory holding any of ``taken``."""
    threads, note = auto_threads(train)
    group, device_name = setup(train.device)
    if group.active and not train.threads:
        threads = max(1, (os.cpu_count() or 1) // group.world_size)  # ranks share the cores
    device = choose_device(train, device_name, threads)
    run_dir = Path(resume) if resume else Path(train.out) if train.out else default_run_dir(data)
    if not resume and any((run_dir / name).exists() for name in taken):
        teardown(group)
        raise RecurError(
            f"{run_dir} already holds a run: continue it with --resume {run_dir}, "
            "or choose another --out"
        )
    if group.active:
        note = None  # the ranks share the cores by design
    return Session(group, device, run_dir, note)


def close_run(session: Session) -> None:
    """The other ranks wait until rank 0 has written; then the group is left."""
    if session.group.joined:
        torch.distributed.barrier()
    teardown(session.group)
