"""Ensembles of classifiers (``--ensemble N``): the members trained one after the other, each
through the one ``Trainer`` (``fit.py`` sets the run up; the model that averages the members is
``models.classifier.ClassifierEnsemble``).

Every member reads the same training and validation split with the same tokenizer; member k
starts from seed ``seed + k`` (initialisation, batch order, dropout) and gets an equal share of
what is left of a ``--time`` budget (so time a member saved by stopping early goes to the next).
Each is a whole classifier run of its own under ``RUN/members/k/`` (``best/``, ``last/``, early
stopping on validation macro-F1), so Ctrl-C and ``--resume`` work inside a member. The run's
``best/`` holds all members' ``best/`` weights (each the mean of its last epochs, or its best
epoch with ``--average-epochs 0``) in one ``model.safetensors``; its prediction is the mean
of the members' class probabilities: members' accuracies spread over several points and their
mean beats each of them (docs/experiments.md, Classifiers).
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import torch

from recur.classify.task import ClassifierTask, classifier_config_dict
from recur.classify.transfer import source_name
from recur.config.options import parse_duration
from recur.models.classifier import ClassifierEnsemble, build_classifier
from recur.runs import checkpoint
from recur.runs.integrity import atomic_write_text
from recur.training.session import Session
from recur.training.trainer import Trainer

DONE = "member.json"  # written into a member's folder once it has finished training


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
    configs: dict, prepared, session: Session, log, source=None, describe=None
) -> bool:
    """Train the members not finished yet; False when ``--stop-after`` paused one. Then write
    the run's ``best/`` and ``last/`` as the ensemble of the members' ``best/`` weights."""
    count, run_dir, group = configs["classifier"].ensemble, session.run_dir, session.group
    if group.is_main and not (run_dir / "last").is_dir():  # what --resume reads the configs from
        save_ensemble(configs, prepared.tokenizer, run_dir, ["last"])
    even_share = parse_duration(configs["train"].time) / count if configs["train"].time else 0.0
    for index in range(count):
        member_dir = run_dir / "members" / str(index)
        if (member_dir / DONE).is_file():
            continue
        settings = member_configs(configs, index, seconds_used(run_dir, index, even_share))
        task = ClassifierTask(settings, prepared, group, source)
        task.tags = {"member": index}
        trainer = Trainer(task, settings["train"], replace(session, run_dir=member_dir), log)
        resumed = (member_dir / "last").is_dir()
        if resumed:
            trainer.resume()
        log.say(
            f"ensemble member {index + 1} of {count} (seed {settings['train'].seed}"
            + (f", {settings['train'].time} of training" if settings["train"].time else "")
            + (", resumed" if resumed else "")
            + ")"
            + (
                f"; encoder from {source_name(configs['classifier'])}, "
                f"{task.unfreezer.describe() if task.unfreezer else 'nothing frozen'}"
                if source is not None
                else ""
            )
        )
        if describe is not None:
            describe(trainer, task, log.say)
            describe = None
        if not trainer.run():
            return False
        if group.is_main:
            done = {
                "best_epoch": task.best_epoch + 1,
                "val_macro_f1": trainer.best,
                "seconds": round(trainer.elapsed, 3),
            }
            atomic_write_text(member_dir / DONE, json.dumps(done))
        if group.active:
            torch.distributed.barrier()  # every rank reads the time this member took
    if group.is_main:
        save_ensemble(configs, prepared.tokenizer, run_dir, ["best", "last"])
    return True


def save_ensemble(configs: dict, tokenizer, run_dir: Path, names: list) -> None:
    """The ensemble of the members' ``best/`` weights (a member without one keeps its
    initialisation) into ``run_dir/<name>`` for each name."""
    model = build_classifier(configs["model"], configs["classifier"])
    assert isinstance(model, ClassifierEnsemble)
    for index, member in enumerate(model.members):
        weights = run_dir / "members" / str(index) / "best"
        if (weights / "model.safetensors").is_file():
            checkpoint.load_weights(member, weights)
    for name in names:
        checkpoint.save(run_dir / name, model, tokenizer, classifier_config_dict(configs))
