"""Many processes: ``torchrun --standalone --nproc_per_node=N -m recur train ...``.

Each rank trains its own B streams of the text (rank r owns global streams r*B .. r*B+B-1) and
DistributedDataParallel averages the gradients (gloo on CPU, NCCL on GPU). Rank 0 alone writes
the run directory, validates and prints; it also decides the clock, so every rank agrees on the
learning rate and on when to stop. Without torchrun everything here is a no-op; a one-process
torchrun joins a group of one and runs the same collectives and DDP as many processes do (so one
GPU can rehearse the NCCL path). NCCL moves CUDA tensors only: the collectives move the CPU
tensors they are given to the rank's GPU and back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch.nn.parallel import DistributedDataParallel

from recur.runs.devices import AUTO


@dataclass
class Group:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    joined: bool = False  # in torchrun's process group, one process or many
    collective_device: str = "cpu"  # where collectives run: the rank's GPU under NCCL

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        """Several processes: each rank owns its streams, and saves its state under its name."""
        return self.world_size > 1

    def agree(self, values: list[float]) -> list[float]:
        """Rank 0's values, on every rank (float64, so clocks survive the trip exactly)."""
        if not self.joined:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=self.collective_device)
        torch.distributed.broadcast(tensor, src=0)
        return tensor.tolist()

    def gather(self, tensor: torch.Tensor) -> list[torch.Tensor]:
        """Every rank's copy of a same-shaped tensor, in rank order, on ``tensor``'s device."""
        if not self.joined:
            return [tensor]
        moved = tensor.contiguous().to(self.collective_device)
        parts = [torch.empty_like(moved) for _ in range(self.world_size)]
        torch.distributed.all_gather(parts, moved)
        return [part.to(tensor.device) for part in parts]


def launched_by_torchrun() -> bool:
    """torchrun sets WORLD_SIZE, RANK and TORCHELASTIC_RUN_ID for every process it starts."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 or "TORCHELASTIC_RUN_ID" in os.environ


def setup(device_name: str) -> tuple[Group, str]:
    """Join the torchrun group when launched by torchrun; returns the group and the device."""
    if not launched_by_torchrun():
        return Group(), device_name
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_name.startswith("cuda") or (device_name == AUTO and torch.cuda.is_available())
    if use_cuda:
        torch.cuda.set_device(local_rank)
        device_name = f"cuda:{local_rank}"
    elif device_name == AUTO:
        device_name = "cpu"
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if use_cuda else "gloo")
    collective = device_name if use_cuda else "cpu"
    return Group(rank, world_size, local_rank, True, collective), device_name


def teardown(group: Group) -> None:
    if group.joined and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def wrap(model: torch.nn.Module, group: Group, device: torch.device) -> torch.nn.Module:
    """What training calls: the model, or DistributedDataParallel around it."""
    if not group.joined:
        return model
    return DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None
    )
