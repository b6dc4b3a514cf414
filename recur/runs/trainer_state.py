"""Exact-resume state of a training run of any kind, as JSON scalars plus named tensors (no pickle).

Captured: step, data position (epoch, batch), training time, tokens seen, best validation score,
the evaluation clock, the optimizer's moments and groups, the loss scaler, the CPU and CUDA RNG
states, and the task's own state: per rank (the LM's carried hidden state) and shared (the LM's
data fingerprint; a classifier's epoch snapshots and early-stopping counters). Older runs' names
(``chunk``, ``torch_rng``) are still read.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import torch

from recur.errors import RecurError
from recur.runs.checkpoint import optimizer_from_state, optimizer_to_state


def fingerprint(ids: np.ndarray) -> str:
    """Length and CRC of the first and last million ids: cheap, and catches edited data."""
    head, tail = np.asarray(ids[:1_000_000]), np.asarray(ids[-1_000_000:])
    return f"{len(ids)}:{zlib.crc32(head.tobytes()):08x}:{zlib.crc32(tail.tobytes()):08x}"


def _rank_tensors(trainer) -> dict:
    """What differs between ranks: RNG states and the task's carried state."""
    tensors = {"rng.cpu": torch.get_rng_state()}
    if trainer.device.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(trainer.device)
    tensors.update(trainer.task.rank_state())
    return tensors


def gather_ranks(trainer, collective: bool = True) -> dict:
    """The RNG and carried state of the ranks. With several ranks, ``collective`` gathers every
    rank's (all ranks must call it together); without, only this rank's are kept."""
    own, group = _rank_tensors(trainer), trainer.group
    if not group.active:
        return own
    if not collective:
        return {f"rank{group.rank}.{name}": t for name, t in own.items()}
    return {
        f"rank{rank}.{name}": part
        for name, tensor in own.items()
        for rank, part in enumerate(group.gather(tensor))
    }


def capture(trainer, ranks: dict) -> dict:
    """The resume state: the ranks' part from ``gather_ranks``, the rest from this rank."""
    groups, tensors = optimizer_to_state(trainer.optimizer)
    tensors.update(ranks)
    extra, extra_tensors = trainer.task.extra_state()
    tensors.update(extra_tensors)
    average, average_tensors = trainer.average.state()
    tensors.update(average_tensors)
    scalars = {
        "world_size": trainer.group.world_size,
        "step": trainer.step,
        "epoch": trainer.epoch,
        "position": trainer.position,
        "elapsed": trainer.elapsed,
        "tokens": trainer.tokens,
        "best": trainer.best if math.isfinite(trainer.best) else None,
        "next_eval": trainer.clock.next_mark,
        "last_loss": trainer.last_loss,
        "stopped_early": trainer.stopped,
        **extra,
        **average,
        "optimizer": groups,
        "grad_scaler": trainer.scaler.state_dict() if trainer.scaler.is_enabled() else None,
    }
    return {"json": scalars, "tensors": tensors}


def restore(trainer, state: dict) -> None:
    """Put a trainer back exactly where ``capture`` found it."""
    scalars, tensors = state["json"], state["tensors"]
    trainer.task.restore_extra_state(scalars, tensors)
    trainer.step, trainer.epoch = scalars["step"], scalars["epoch"]
    trainer.position = scalars["position"] if "position" in scalars else scalars["chunk"]
    trainer.elapsed, trainer.tokens = scalars["elapsed"], scalars["tokens"]
    worst = -math.inf if trainer.task.higher_is_better else math.inf
    trainer.best = worst if scalars["best"] is None else scalars["best"]
    trainer.clock.next_mark = scalars.get("next_eval") or trainer.clock.next_mark
    trainer.last_loss = scalars.get("last_loss", math.nan)
    trainer.stopped = scalars.get("stopped_early", False)
    trainer.validated_step = trainer.step
    optimizer_from_state(trainer.optimizer, scalars["optimizer"], tensors)
    trainer.average.restore(scalars, tensors, trainer.model)
    if scalars.get("grad_scaler") and trainer.scaler.is_enabled():
        trainer.scaler.load_state_dict(scalars["grad_scaler"])
    group = trainer.group
    if scalars.get("world_size", 1) != group.world_size:
        raise RecurError(
            f"this run was trained with {scalars.get('world_size', 1)} processes; "
            f"resume it with the same number (not {group.world_size})"
        )
    prefix = f"rank{group.rank}." if group.active else ""
    if "torch_rng" in tensors:  # an older classifier run
        tensors = {**tensors, "rng.cpu": tensors["torch_rng"]}
    if prefix + "rng.cpu" not in tensors:
        # Saved by an interrupted rank 0 alone: this rank restarts its streams' state.
        torch.manual_seed(trainer.train.seed + 1000 * group.rank + trainer.step)
        trainer.task.restore_rank_state(None)
        return
    torch.set_rng_state(tensors[prefix + "rng.cpu"])
    if prefix + "rng.cuda" in tensors and trainer.device.type == "cuda":
        torch.cuda.set_rng_state(tensors[prefix + "rng.cuda"], trainer.device)
    own = {name[len(prefix) :]: t for name, t in tensors.items() if name.startswith(prefix)}
    trainer.task.restore_rank_state(own)
