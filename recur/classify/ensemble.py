"""Ensembles of classifiers (``--ensemble N``): the model that averages its members, and the
loop that trains the members one after the other (``class_fit.py`` sets the run up).

Every member reads the same training and validation split with the same tokenizer; member k
starts from seed ``seed + k`` (initialisation, batch order, dropout) and gets an equal share of
what is left of a ``--time`` budget (so time a member saved by stopping early goes to the next).
Each is a whole classifier run of its own under ``RUN/members/k/`` (``best/``, ``last/``, early
stopping on validation macro-F1), so Ctrl-C and ``--resume`` work inside a member. The run's
``best/`` holds all members' ``best/`` weights (each the mean of its last epochs, or its best
epoch with ``--average-epochs 0``) in one ``model.safetensors``; its prediction is the mean
of the members' class probabilities. On 2,000 AG News rows the members' test accuracy ranges
over several points and the mean of five is above every one of them (README, Classify).
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from recur.config.options import parse_duration
from recur.runs import checkpoint

DONE = "member.json"  # written into a member's folder once it has finished training


class ClassifierEnsemble(nn.Module):
    """N ``RecurrentClassifier``s of one shape; ``forward(ids, lengths) -> (B, C)`` log of the
    mean of their probabilities, so a softmax of it is that mean."""

    def __init__(self, members: list):
        super().__init__()
        self.members = nn.ModuleList(members)

    @property
    def num_classes(self) -> int:
        return self.members[0].num_classes

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        log_probabilities = torch.stack(
            [F.log_softmax(member(ids, lengths).float(), dim=-1) for member in self.members]
        )  # (N, B, C)
        return torch.logsumexp(log_probabilities, dim=0) - math.log(len(self.members))


def member_configs(configs: dict, index: int, used: float) -> dict:
    """The configs member ``index`` trains with: its own seed and, of a time budget, an equal
    share of what the members before it (``used`` seconds of training) left."""
    member = copy.deepcopy(configs)
    count = member["classifier"].ensemble
    member["classifier"].ensemble = 1
    member["train"].seed = configs["train"].seed + index
    if configs["train"].time:
        total = parse_duration(configs["train"].time)
        # never below the even share, should a member before it have run a step over its own
        share = max(total / count, (total - used) / (count - index))
        member["train"].time = f"{share:g}s"
    return member


def seconds_used(run_dir: Path, index: int, even_share: float) -> float:
    """Training seconds the finished members before ``index`` took (a member that recorded
    none, from an older version, counts ``even_share``)."""
    return sum(
        json.loads((run_dir / "members" / str(before) / DONE).read_text()).get(
            "seconds", even_share
        )
        for before in range(index)
    )


def train_members(
    configs: dict, prepared, run_dir: Path, device, log, source=None, describe=None
) -> bool:
    """Train the members not finished yet; False when ``--stop-after`` paused one. Then write
    the run's ``best/`` and ``last/`` as the ensemble of the members' ``best/`` weights."""
    from recur.classify.trainer import ClassifierTrainer
    from recur.models.classifier import load_encoder

    count = configs["classifier"].ensemble
    if not (run_dir / "last").is_dir():  # what --resume reads the run's configs from
        save_ensemble(configs, prepared.tokenizer, run_dir, ["last"])
    even_share = parse_duration(configs["train"].time) / count if configs["train"].time else 0.0
    for index in range(count):
        member_dir = run_dir / "members" / str(index)
        if (member_dir / DONE).is_file():
            continue
        settings = member_configs(configs, index, seconds_used(run_dir, index, even_share))
        trainer = ClassifierTrainer(
            settings,
            prepared.train,
            prepared.val,
            prepared.tokenizer,
            member_dir,
            device,
            log,
            prepared.vectors,
        )
        trainer.tags = {"member": index}
        if source is not None:
            trainer.freeze(load_encoder(trainer.model, source.model))
        resumed = (member_dir / "last").is_dir()
        if resumed:
            trainer.resume()
        log.say(
            f"ensemble member {index + 1} of {count} (seed {settings['train'].seed}"
            + (f", {settings['train'].time} of training" if settings["train"].time else "")
            + (", resumed" if resumed else "")
            + ")"
            + (
                f"; encoder from {configs['classifier'].init_from}, frozen for "
                f"{trainer.freeze_steps} steps"
                if source is not None
                else ""
            )
        )
        if describe is not None:
            describe(trainer, log.say)
            describe = None
        if not trainer.run():
            return False
        (member_dir / DONE).write_text(
            json.dumps(
                {
                    "best_epoch": trainer.best_epoch + 1,
                    "val_macro_f1": trainer.best,
                    "seconds": round(trainer.elapsed, 3),
                }
            )
        )
    save_ensemble(configs, prepared.tokenizer, run_dir, ["best", "last"])
    return True


def save_ensemble(configs: dict, tokenizer, run_dir: Path, names: list) -> None:
    """The ensemble of the members' ``best/`` weights (a member without one keeps its
    initialisation) into ``run_dir/<name>`` for each name."""
    from safetensors.torch import load_model

    from recur.classify.trainer import classifier_config_dict
    from recur.models.classifier import build_classifier

    model = build_classifier(configs["model"], configs["classifier"])
    for index, member in enumerate(model.members):
        weights = run_dir / "members" / str(index) / "best" / "model.safetensors"
        if weights.is_file():
            load_model(member, str(weights))
    for name in names:
        checkpoint.save(run_dir / name, model, tokenizer, classifier_config_dict(configs))
