"""What a kind of run tells the one ``Trainer``: the ``Task`` interface.

A task owns its data, tokenizer and model, and knows how to cut an epoch into batches, the loss of
one batch (carrying state where the kind has it), how to score the model on its validation data,
and what extra state an exact resume needs. The trainer owns everything else: the loop, the
learning rate, mixed precision, clipping, the evaluation clock, ``best/`` and ``last/``, Ctrl-C,
``--stop-after``, resume and torchrun.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn


@dataclass
class Score:
    """A validation result: the figure ``best/`` is chosen by, and what the log line shows."""

    value: float
    record: dict = field(default_factory=dict)  # extra fields of the metrics.jsonl eval line
    text: str = ""  # the line said on screen, before "*best*"


class Task(Protocol):
    """One kind of run (language model, music, classifier) as the trainer drives it."""

    kind: str  # "lm" | "music" | "classifier": config.json records it
    higher_is_better: bool  # macro-F1: True; a loss: False
    auto_eval: str  # what --eval-every auto means: "progress" (6 per run) or "epoch" (each)
    tokenizer: Any
    tags: dict  # added to every metrics.jsonl line (an ensemble's member index)

    def build_model(self) -> nn.Module:
        """A fresh model, built right after the trainer seeds the RNG."""
        ...

    def lr_scales(self, model: nn.Module) -> dict:
        """Parameter name -> its share of the learning rate (discriminative rates); {}: all 1."""
        ...

    def start(self, trainer) -> None:
        """The model and optimizer exist: copy in starting weights, freeze, and the like."""
        ...

    def config_dict(self) -> dict:
        """What ``config.json`` holds (with ``"kind"``)."""
        ...

    def batch_count(self, epoch: int) -> int:
        """Batches this rank trains on in ``epoch``."""
        ...

    def batch(self, epoch: int, index: int) -> Any:
        """Batch ``index`` of ``epoch`` for this rank."""
        ...

    def new_epoch(self) -> None:
        """An epoch starts: drop state carried across batches."""
        ...

    def loss(self, network: nn.Module, batch: Any, step: int) -> tuple[torch.Tensor, int]:
        """The mean loss of one batch (called under autocast) and the tokens it read."""
        ...

    def validate(self, trainer) -> Score | None:
        """The model's score on the validation data (rank 0 only); None when there is none."""
        ...

    def after_validation(self, trainer, score: Score, improved: bool) -> bool:
        """Rank 0, after ``best/`` is written: samples, snapshots; True stops training early."""
        ...

    def finish(self, trainer, finished: bool) -> None:
        """The loop has ended (``finished``: the plan ran out or training stopped early)."""
        ...

    def rank_state(self) -> dict:
        """Tensors that differ between ranks (the LM's carried hidden state)."""
        ...

    def restore_rank_state(self, tensors: dict | None) -> None:
        """Put ``rank_state`` back; None when this rank's state was not saved."""
        ...

    def extra_state(self) -> tuple[dict, dict]:
        """JSON scalars and tensors of the task's own resume state (rank 0's)."""
        ...

    def restore_extra_state(self, scalars: dict, tensors: dict) -> None:
        """Put ``extra_state`` back (checking that the data did not change)."""
        ...
