"""When training stops, how the learning rate moves, and when to validate.

A plan stops at whichever of ``--steps``, ``--epochs`` and ``--time`` comes first; progress in
[0, 1] is how far along the nearest of them the run is, and the learning rate is laid out over
that progress: linear warm-up, then a cosine decay that ends with the plan (with ``--time`` it
reaches its floor as the budget runs out), or ULMFiT's slanted triangular rate (``--schedule
stlr``). Time counts training only, not validation or saving.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from recur.config.options import TrainConfig, parse_duration
from recur.config.presets import DEFAULT_BUDGET
from recur.errors import UsageError

AUTO_EVALUATIONS = 6


@dataclass
class Plan:
    steps: int | None
    seconds: float | None
    chunks_per_epoch: int
    epochs: float | None = None

    @property
    def step_limit(self) -> int | None:
        limits = [n for n in (self.steps, self.epoch_steps) if n is not None]
        return min(limits) if limits else None

    @property
    def epoch_steps(self) -> int | None:
        return None if self.epochs is None else max(1, round(self.epochs * self.chunks_per_epoch))

    def progress(self, step: int, elapsed: float) -> float:
        fractions = [0.0]
        if self.step_limit is not None:
            fractions.append(step / self.step_limit)
        if self.seconds is not None:
            fractions.append(elapsed / self.seconds)
        return min(1.0, max(fractions))

    def done(self, step: int, elapsed: float) -> bool:
        return self.progress(step, elapsed) >= 1.0

    def describe(self) -> str:
        parts = []
        if self.steps is not None:
            parts.append(f"{self.steps} steps")
        if self.epochs is not None:
            parts.append(f"{self.epochs:g} epochs ({self.epoch_steps} steps)")
        if self.seconds is not None:
            parts.append(f"{self.seconds:g} s of training")
        return " or ".join(parts)


def make_plan(config: TrainConfig, chunks_per_epoch: int) -> Plan:
    try:
        seconds = parse_duration(config.time) if config.time else None
    except ValueError as error:
        raise UsageError(f"--time: {error}") from None
    if config.steps is None and config.epochs is None and seconds is None:
        seconds = parse_duration(DEFAULT_BUDGET)
    for name, value in (
        ("--steps", config.steps),
        ("--epochs", config.epochs),
        ("--time", seconds),
    ):
        if value is not None and value <= 0:
            raise UsageError(f"{name} must be positive")
    return Plan(config.steps, seconds, chunks_per_epoch, config.epochs)


def learning_rate(config: TrainConfig, step: int, progress: float) -> float:
    """Warm-up over ``warmup_steps``, then cosine from ``lr`` to ``lr * min_lr_ratio``; or,
    with ``--schedule stlr``, the slanted triangular rate."""
    if config.schedule == "stlr":
        return config.lr * slanted_triangular(progress, config.stlr_cut, config.stlr_ratio)
    warmup = min(1.0, (step + 1) / max(1, config.warmup_steps))
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return config.lr * warmup * (config.min_lr_ratio + (1.0 - config.min_lr_ratio) * cosine)


def slanted_triangular(progress: float, cut: float, ratio: float) -> float:
    """ULMFiT's slanted triangular rate (Howard & Ruder 2018, eq. 3) as a fraction of the peak:
    a linear rise from 1/ratio to 1 over the first ``cut`` of the run, then a linear fall back
    to 1/ratio by its end (a short climb to find a good region, a long careful descent)."""
    progress = min(1.0, max(0.0, progress))
    if progress < cut:
        rise = progress / cut
    else:
        rise = 1.0 - (progress - cut) / (1.0 - cut)
    return (1.0 + rise * (ratio - 1.0)) / ratio


class EvalClock:
    """Says when validation is due: every N steps, every duration, or ``auto``: by progress
    (``AUTO_EVALUATIONS`` per run) or, for ``auto="epoch"``, at the end of every epoch."""

    def __init__(self, every: str, next_mark: float = 0.0, auto: str = "progress"):
        every = str(every).strip()
        if every == "auto" and auto == "epoch":
            self.unit, self.interval = "epoch", 1.0
        elif every == "auto":
            self.unit, self.interval = "progress", 1.0 / AUTO_EVALUATIONS
        elif every.isdigit():
            self.unit, self.interval = "step", float(every)
        else:
            try:
                self.unit, self.interval = "seconds", parse_duration(every)
            except ValueError:
                raise UsageError(
                    f"--eval-every {every!r}: give a step count, a duration like 30s, or auto"
                ) from None
        if self.interval <= 0:
            raise UsageError("--eval-every must be positive")
        self.next_mark = next_mark or self.interval

    def due(self, step: int, elapsed: float, progress: float, epoch_ended: bool = False) -> bool:
        if self.unit == "epoch":
            return epoch_ended
        value = {"step": step, "seconds": elapsed, "progress": progress}[self.unit]
        if value + 1e-9 < self.next_mark:
            return False
        while self.next_mark <= value + 1e-9:
            self.next_mark += self.interval
        return True
