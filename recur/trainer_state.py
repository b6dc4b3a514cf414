"""Exact-resume state of a training run, as JSON scalars plus named tensors (no pickle).

Captured: step, data cursor (epoch, chunk), training time, tokens seen, best validation loss,
the evaluation clock, the optimizer's moments and groups, the CPU and CUDA RNG states, and the
hidden state carried between chunks. A fingerprint of the training ids catches changed data.
"""
from __future__ import annotations

import zlib

import numpy as np
import torch

from .checkpoint import optimizer_from_state, optimizer_to_state
from .errors import RecurError


def fingerprint(ids: np.ndarray) -> str:
    """Length and CRC of the first and last million ids: cheap, and catches edited data."""
    head, tail = np.asarray(ids[:1_000_000]), np.asarray(ids[-1_000_000:])
    return f"{len(ids)}:{zlib.crc32(head.tobytes()):08x}:{zlib.crc32(tail.tobytes()):08x}"


def capture(trainer) -> dict:
    groups, tensors = optimizer_to_state(trainer.optimizer)
    tensors["rng.cpu"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for index, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{index}"] = state
    for index, tensor in enumerate(trainer.hidden or ()):
        tensors[f"hidden.{index}"] = tensor
    scalars = {
        "step": trainer.step, "epoch": trainer.epoch, "chunk": trainer.chunk,
        "elapsed": trainer.elapsed, "tokens": trainer.tokens,
        "best": trainer.best if np.isfinite(trainer.best) else None,
        "next_eval": trainer.clock.next_mark, "last_loss": trainer.last_loss,
        "data_fingerprint": fingerprint(trainer.corpus.train_ids), "optimizer": groups,
    }
    return {"json": scalars, "tensors": tensors}


def restore(trainer, state: dict) -> None:
    """Put a trainer back exactly where ``capture`` found it."""
    scalars, tensors = state["json"], state["tensors"]
    if scalars["data_fingerprint"] != fingerprint(trainer.corpus.train_ids):
        raise RecurError("the training data changed since this run started; resume needs the "
                         "same files (or start a new run)")
    trainer.step, trainer.epoch, trainer.chunk = scalars["step"], scalars["epoch"], scalars["chunk"]
    trainer.elapsed, trainer.tokens = scalars["elapsed"], scalars["tokens"]
    trainer.best = float("inf") if scalars["best"] is None else scalars["best"]
    trainer.clock.next_mark, trainer.last_loss = scalars["next_eval"], scalars["last_loss"]
    trainer.validated_step = trainer.step
    optimizer_from_state(trainer.optimizer, scalars["optimizer"], tensors)
    torch.set_rng_state(tensors["rng.cpu"])
    cuda_states = [tensors[k] for k in sorted(t for t in tensors if t.startswith("rng.cuda."))]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states)
    hidden = [tensors[f"hidden.{i}"] for i in range(2) if f"hidden.{i}" in tensors]
    trainer.hidden = tuple(h.to(trainer.device) for h in hidden) or None
