"""Averaged weights for evaluation (``--average-from``): the mean of the weights after every
step from a point of the plan on, as ASGD keeps it (Polyak & Juditsky 1992) and AWD-LSTM's
NT-ASGD evaluates with it (Merity et al. 2018). Validation, ``best/`` and samples use the mean;
training and ``last/`` keep the raw weights, and exact resume carries the mean.

NT-ASGD starts averaging when validation stops improving, which under recur's decaying schedule
happens only at the end; a fixed fraction of the plan stands in for that trigger. Why this and not
an average of validation snapshots, and why the word preset leaves it off: docs/experiments.md,
"The word preset".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


class WeightAverage:
    """The running mean of a model's parameters from plan progress ``start`` on (0: off)."""

    def __init__(self, start: float):
        self.start, self.count = start, 0
        self.mean: list[torch.Tensor] = []

    def update(self, model: nn.Module, progress: float) -> None:
        """Fold the weights after a step into the mean, once ``progress`` reaches ``start``."""
        if not self.start or progress < self.start:
            return
        with torch.no_grad():
            params = [p.detach().float() for p in parameters(model)]
            if not self.mean:
                self.mean, self.count = [p.clone() for p in params], 1
                return
            self.count += 1
            for mean, param in zip(self.mean, params):
                mean.add_(param - mean, alpha=1.0 / self.count)

    @contextmanager
    def applied(self, model: nn.Module) -> Iterator[None]:
        """The model holds the mean inside the block (its own weights before and after)."""
        if not self.mean:
            yield
            return
        params = parameters(model)
        raw = [p.detach().clone() for p in params]
        with torch.no_grad():
            for param, mean in zip(params, self.mean):
                param.copy_(mean)
        try:
            yield
        finally:
            with torch.no_grad():
                for param, value in zip(params, raw):
                    param.copy_(value)

    def state(self) -> tuple[dict, dict]:
        """Resume state: the count (JSON) and the mean's tensors."""
        return {"average_count": self.count}, {
            f"average.{i}": mean.cpu() for i, mean in enumerate(self.mean)
        }

    def restore(self, scalars: dict, tensors: dict, model: nn.Module) -> None:
        self.count = scalars.get("average_count", 0)
        device = next(model.parameters()).device
        names = [f"average.{i}" for i in range(len(parameters(model)))]
        self.mean = [tensors[n].to(device) for n in names] if self.count else []


def parameters(model: nn.Module) -> list[nn.Parameter]:
    """Each parameter once (a tied decoder shares the embedding's)."""
    return list({id(p): p for p in model.parameters()}.values())
