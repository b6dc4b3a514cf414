"""Exact-resume state of a training run, as JSON scalars plus named tensors (no pickle).

Captured: step, data cursor (epoch, chunk), training time, tokens seen, best validation loss,
the evaluation clock, the optimizer's moments and groups, the CPU and CUDA RNG states, and the
hidden state carried between chunks. A fingerprint of the training ids catches changed data.
"""

from __future__ import annotations

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
    """What differs between ranks: RNG states and the carried hidden state."""
    tensors = {"rng.cpu": torch.get_rng_state()}
    if trainer.device.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(trainer.device)
    for index, tensor in enumerate(trainer.hidden or ()):
        tensors[f"hidden.{index}"] = tensor.detach().cpu()
    return tensors


def capture(trainer, collective: bool = True) -> dict:
    """The resume state. With several ranks, ``collective`` gathers every rank's RNG and hidden
    state (all ranks must call it together); without, only this rank's are kept."""
    groups, tensors = optimizer_to_state(trainer.optimizer)
    own, group = _rank_tensors(trainer), trainer.group
    if not group.active:
        tensors.update(own)
    elif collective:
        for name, tensor in own.items():
            for rank, part in enumerate(group.gather(tensor)):
                tensors[f"rank{rank}.{name}"] = part
    else:
        tensors.update({f"rank{group.rank}.{name}": t for name, t in own.items()})
    scalars = {
        "world_size": group.world_size,
        "step": trainer.step,
        "epoch": trainer.epoch,
        "chunk": trainer.chunk,
        "elapsed": trainer.elapsed,
        "tokens": trainer.tokens,
        "best": trainer.best if np.isfinite(trainer.best) else None,
        "next_eval": trainer.clock.next_mark,
        "last_loss": trainer.last_loss,
        "data_fingerprint": fingerprint(trainer.corpus.train_ids),
        "optimizer": groups,
        "grad_scaler": trainer.scaler.state_dict() if trainer.scaler.is_enabled() else None,
    }
    return {"json": scalars, "tensors": tensors}


def restore(trainer, state: dict) -> None:
    """Put a trainer back exactly where ``capture`` found it."""
    scalars, tensors = state["json"], state["tensors"]
    if scalars["data_fingerprint"] != fingerprint(trainer.corpus.train_ids):
        raise RecurError(
            "the training data changed since this run started; resume needs the "
            "same files (or start a new run)"
        )
    trainer.step, trainer.epoch, trainer.chunk = scalars["step"], scalars["epoch"], scalars["chunk"]
    trainer.elapsed, trainer.tokens = scalars["elapsed"], scalars["tokens"]
    trainer.best = float("inf") if scalars["best"] is None else scalars["best"]
    trainer.clock.next_mark, trainer.last_loss = scalars["next_eval"], scalars["last_loss"]
    trainer.validated_step = trainer.step
    optimizer_from_state(trainer.optimizer, scalars["optimizer"], tensors)
    if scalars.get("grad_scaler") and trainer.scaler.is_enabled():
        trainer.scaler.load_state_dict(scalars["grad_scaler"])
    group = trainer.group
    if scalars.get("world_size", 1) != group.world_size:
        raise RecurError(
            f"this run was trained with {scalars.get('world_size', 1)} processes; "
            f"resume it with the same number (not {group.world_size})"
        )
    prefix = f"rank{group.rank}." if group.active else ""
    if prefix + "rng.cpu" not in tensors:
        # Saved by an interrupted rank 0 alone: this rank restarts its streams' state.
        torch.manual_seed(trainer.train.seed + 1000 * group.rank + trainer.step)
        trainer.hidden = None
        return
    torch.set_rng_state(tensors[prefix + "rng.cpu"])
    if prefix + "rng.cuda" in tensors and trainer.device.type == "cuda":
        torch.cuda.set_rng_state(tensors[prefix + "rng.cuda"], trainer.device)
    hidden = [tensors[f"{prefix}hidden.{i}"] for i in range(3) if f"{prefix}hidden.{i}" in tensors]
    trainer.hidden = tuple(h.to(trainer.device) for h in hidden) or None
