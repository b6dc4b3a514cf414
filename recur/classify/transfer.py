"""ULMFiT's fine-tuning of a classifier whose encoder starts from a language model (Howard &
Ruder 2018): layer groups, gradual unfreezing and discriminative learning rates.

A classifier's layer groups, counted from the top: 0 the head (and attention pooling), 1 the top
recurrent layer, ..., ``num_layers`` the first recurrent layer, ``num_layers + 1`` the embedding.
The weights copied from the language model (the embedding and the forward layers) start frozen;
group ``g`` trains from step ``g * freeze_steps`` (``--unfreeze gradual``), or every group from
``freeze_steps`` (``--unfreeze all``). Copied weights of group ``g`` learn at ``lr / lr_decay**g``;
weights the language model did not have (the head, the backward layers) learn at the full rate
from the first step, as they start at random. Everything here follows from parameter names and
the step, so a resumed run freezes and scales exactly as the run it continues.
"""

from __future__ import annotations

import re

import torch


def layer_group(name: str, num_layers: int) -> int:
    """The layer group of a classifier parameter, 0 (the head) at the top."""
    if name.startswith("embedding."):
        return num_layers + 1
    if match := re.match(r"(?:forward|backward)_layers\.(\d+)\.", name):
        return num_layers - int(match.group(1))
    return 0


def copied(name: str) -> bool:
    """Whether ``load_encoder`` fills this parameter from a language model."""
    return name.startswith(("embedding.", "forward_layers."))


def lr_scales(model: torch.nn.Module, num_layers: int, decay: float) -> dict[str, float]:
    """Parameter name -> its share of the learning rate (discriminative rates)."""
    return {
        name: decay ** -layer_group(name, num_layers) if copied(name) else 1.0
        for name, _ in model.named_parameters()
    }


def trains(group: int, step: int, freeze_steps: int, gradual: bool) -> bool:
    """Whether a copied group of weights trains at ``step``."""
    return step >= (group if gradual else min(group, 1)) * freeze_steps


class Unfreezer:
    """Sets ``requires_grad`` on the copied parameters before each step; says when a group
    starts to train."""

    def __init__(self, model: torch.nn.Module, num_layers: int, freeze_steps: int, gradual: bool):
        self.freeze_steps, self.gradual = freeze_steps, gradual
        self.groups = [
            (layer_group(name, num_layers), parameter)
            for name, parameter in model.named_parameters()
            if copied(name)
        ]
        self.count = num_layers + 1  # copied groups: the recurrent layers and the embedding

    def apply(self, step: int) -> None:
        for group, parameter in self.groups:
            parameter.requires_grad_(trains(group, step, self.freeze_steps, self.gradual))

    def unfreezes_at(self, step: int) -> list[int]:
        """The groups that start to train at exactly ``step`` (for the log)."""
        if step == 0 or not self.freeze_steps:
            return []
        return [
            g
            for g in range(1, self.count + 1)
            if trains(g, step, self.freeze_steps, self.gradual)
            and not trains(g, step - 1, self.freeze_steps, self.gradual)
        ]

    def describe(self) -> str:
        if not self.freeze_steps:
            return "nothing frozen"
        if not self.gradual:
            return f"copied layers frozen for {self.freeze_steps} steps"
        return (
            f"one layer group unfrozen every {self.freeze_steps} steps from the top "
            f"({self.count} groups: all train from step {self.count * self.freeze_steps})"
        )


def source_name(classifier) -> str:
    """Where a transferred encoder came from, for the log."""
    if not classifier.lm_finetune:
        return str(classifier.init_from)
    if classifier.init_from:
        return f"{classifier.init_from}, fine-tuned on the training texts (lm/)"
    return "a language model trained on the training texts (lm/)"
