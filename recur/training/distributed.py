"""Many processes: ``torchrun --standalone --nproc_per_node=N -m recur train ...``.

Each rank trains its own B streams of the text (rank r owns global streams r*B .. r*B+B-1) and
DistributedDataParallel averages the gradients (gloo on CPU, NCCL on GPU). Rank 0 alone writes
the run directory, validates and prints; it also decides the clock, so every rank agrees on the
learning rate and on when to stop. With one process everything here is a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch.nn.parallel import DistributedDataParallel


@dataclass
class Group:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def agree(self, values: list[float]) -> list[float]:
        """Rank 0's values, on every rank (float64, so clocks survive the trip exactly)."""
        if not self.active:
            return values
        tensor = torch.tensor(values, dtype=torch.float64)
        torch.distributed.broadcast(tensor, src=0)
        return tensor.tolist()

    def gather(self, tensor: torch.Tensor) -> list[torch.Tensor]:
        """Every rank's copy of a same-shaped CPU tensor, in rank order."""
        if not self.active:
            return [tensor]
        parts = [torch.empty_like(tensor) for _ in range(self.world_size)]
        torch.distributed.all_gather(parts, tensor.contiguous())
        return parts


def setup(device_name: str) -> tuple[Group, str]:
    """Join the torchrun group when launched by torchrun; returns the group and the device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Group(), device_name
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_name.startswith("cuda") or (
        device_name == "auto" and torch.cuda.is_available()
    )
    if use_cuda:
        torch.cuda.set_device(local_rank)
        device_name = f"cuda:{local_rank}"
    elif device_name == "auto":
        device_name = "cpu"
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if use_cuda else "gloo")
    return Group(rank, world_size, local_rank), device_name


def teardown(group: Group) -> None:
    if group.active and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def wrap(model: torch.nn.Module, group: Group, device: torch.device) -> torch.nn.Module:
    """What training calls: the model, or DistributedDataParallel around it."""
    if not group.active:
        return model
    return DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None
    )
