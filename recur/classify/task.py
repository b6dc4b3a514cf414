"""The classifier task (kind "classifier"): what the one ``Trainer`` asks of a classifier run.

Epochs of length-bucketed batches (batches.py; with torchrun each rank takes every N-th batch),
cross-entropy with optional class weights, ``--word-dropout`` (a seeded fraction of each batch's
tokens become ``<unk>``). Validation macro-F1 picks ``best/`` (higher is better) and drives early
stopping (``--patience``: validations without a better one); ``--eval-every auto`` validates at
the end of every epoch, a step count or a duration that often. With ``--average-epochs N``
the final ``best/`` is instead the mean of the weights at the last N validations: on a few
hundred validation rows the best epoch is partly chance, and the mean of the schedule's tail
beat it (docs/experiments.md, Classifiers). With ``--init-from`` (or ``--lm-finetune``) the
copied encoder weights are unfrozen and given their learning rates as ULMFiT does (transfer.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from recur.classify.batches import bucket_batches, class_weights, drop_words, epoch_order, pad
from recur.classify.labelled import LabelledSet, predict_probabilities
from recur.classify.reports import scores
from recur.classify.transfer import Unfreezer, lr_scales
from recur.config.options import to_dict
from recur.errors import RecurError
from recur.models.classifier import RecurrentClassifier, build_classifier, load_encoder
from recur.runs import checkpoint
from recur.tokenizers.base import SPECIALS
from recur.training.distributed import Group
from recur.training.task import Score


def classifier_config_dict(configs: dict) -> dict:
    """What a classifier run's ``config.json`` holds: its kind (and, for readers of the older
    format, ``"task": "classify"``) and every config section."""
    sections = {name: to_dict(config) for name, config in configs.items()}
    return {"kind": "classifier", "task": "classify", **sections}


class ClassifierTask:
    """A classifier trained on a ``LabelledSet`` and scored on another."""

    kind = "classifier"
    higher_is_better = True
    auto_eval = "epoch"

    def __init__(self, configs: dict, prepared, group: Group, source=None):
        self.configs, self.group, self.source = configs, group, source
        self.data, self.train = configs["data"], configs["train"]
        self.classifier = configs["classifier"]
        self.train_set: LabelledSet = prepared.train
        self.val_set: LabelledSet = prepared.val
        self.tokenizer, self.vectors = prepared.tokenizer, prepared.vectors
        self.tags: dict = {}
        self.device = torch.device("cpu")
        self.weights = class_weights(
            self.train_set.labels, len(self.classifier.classes), self.classifier.class_weight
        )
        # Started from a language model: its weights, or those of the run being resumed.
        self.transfer = bool(self.classifier.init_from) or self.classifier.lm_finetune > 0
        self.frozen: list = []  # names of the parameters copied from the language model
        self.unfreezer: Unfreezer | None = None
        self.freeze_steps, self.best_epoch, self.stale_epochs = 0, -1, 0
        self.snapshots: list = []  # weights at the last --average-epochs validations
        self.cached: tuple = (-1, [])  # (epoch, its batches)

    def build_model(self) -> torch.nn.Module:
        model = build_classifier(self.configs["model"], self.classifier)
        if self.vectors is not None:
            assert isinstance(model, RecurrentClassifier)  # a member, never a whole ensemble
            model.start_embedding(self.vectors)
        return model

    def lr_scales(self, model) -> dict:
        if not self.transfer or self.classifier.lr_decay == 1:
            return {}
        return lr_scales(model, self.configs["model"].num_layers, self.classifier.lr_decay)

    def start(self, trainer) -> None:
        self.device = trainer.device
        self.weights = None if self.weights is None else self.weights.to(self.device)
        if not self.transfer:
            return
        if self.source is not None:  # a resumed run has its weights already
            self.frozen = load_encoder(trainer.model, self.source.model)
        self.freeze_steps = round(self.classifier.freeze_epochs * self.batch_count(0))
        if self.freeze_steps and self.group.joined:  # DDP cannot freeze mid-run
            raise RecurError("--init-from with torchrun needs --freeze-epochs 0")
        gradual = self.classifier.unfreeze == "gradual"
        num_layers = self.configs["model"].num_layers
        self.unfreezer = Unfreezer(trainer.model, num_layers, self.freeze_steps, gradual)

    def config_dict(self) -> dict:
        return classifier_config_dict(self.configs)

    def batches(self, epoch: int) -> list:
        """This rank's batches of ``epoch``: every world_size-th, the same count on every rank."""
        if self.cached[0] != epoch:
            order = epoch_order(
                self.train_set.labels, self.classifier.sampler, self.train.seed, epoch
            )
            batches = bucket_batches(
                order, self.train_set.lengths, self.data.batch_size, self.train.seed, epoch
            )
            ranks = self.group.world_size
            if ranks > 1:
                batches = batches[self.group.rank :: ranks][: len(batches) // ranks]
            self.cached = (epoch, batches)
        return self.cached[1]

    def batch_count(self, epoch: int) -> int:
        return len(self.batches(epoch))

    def batch(self, epoch: int, index: int):
        return self.batches(epoch)[index]

    def new_epoch(self) -> None:
        pass  # nothing is carried from one batch to the next

    def loss(self, network, batch, step: int) -> tuple[torch.Tensor, int]:
        if self.unfreezer is not None:
            self.unfreezer.apply(step)
        ids, lengths = pad([self.train_set.ids[i] for i in batch])
        ids = drop_words(
            ids,
            self.classifier.word_dropout,
            self.tokenizer.unk_id,
            len(SPECIALS) + len(self.tokenizer.conditions),
            self.train.seed,
            step,
        )
        labels = torch.from_numpy(self.train_set.labels[batch]).long().to(self.device)
        logits = network(ids.to(self.device), lengths)
        loss = F.cross_entropy(logits.float(), labels, weight=self.weights)
        return loss, int(lengths.sum())

    def report(self, model) -> dict:
        """Accuracy, macro-F1 and the rest of ``scores`` of ``model`` on the validation split."""
        classes = self.classifier.classes
        predicted = predict_probabilities(model, self.val_set.ids, self.device).argmax(axis=1)
        return scores(
            [classes[i] for i in self.val_set.labels], [classes[i] for i in predicted], classes
        )

    def validate(self, trainer) -> Score:
        report = self.report(trainer.model)
        record = {
            "epoch": trainer.epoch,
            "time": round(trainer.elapsed, 3),
            "val_accuracy": report["accuracy"],
            "val_macro_f1": report["macro_f1"],
        }
        text = (
            f"epoch {trainer.epoch + 1} (step {trainer.step}, {trainer.elapsed:.0f} s): "
            f"validation accuracy {report['accuracy']:.4f}, macro-F1 {report['macro_f1']:.4f}"
        )
        return Score(report["macro_f1"], record, text)

    def after_validation(self, trainer, score: Score, improved: bool) -> bool:
        """Count towards early stopping; keep this validation's weights for the average."""
        if improved:
            self.best_epoch, self.stale_epochs = trainer.epoch, 0
        else:
            self.stale_epochs += 1
        if self.classifier.average_epochs > 0:
            weights = trainer.model.state_dict().items()
            self.snapshots.append({k: v.detach().to("cpu", copy=True) for k, v in weights})
            self.snapshots = self.snapshots[-self.classifier.average_epochs :]
        patience = self.classifier.patience
        if not patience or self.stale_epochs < patience:
            return False
        unit = "epochs" if trainer.clock.unit == "epoch" else "validations"  # --eval-every
        trainer.log.say(
            f"stopping early: no better macro-F1 for {patience} {unit} "
            f"(--patience); the best was epoch {self.best_epoch + 1}"
        )
        return True

    def finish(self, trainer, finished: bool) -> None:
        """``--average-epochs``: the mean of the kept snapshots becomes ``best/``."""
        if not finished or not self.snapshots:
            return
        average = {
            name: sum(s[name].float() for s in self.snapshots)
            .div(len(self.snapshots))
            .to(value.dtype)
            if value.is_floating_point()
            else value
            for name, value in self.snapshots[-1].items()
        }
        model = build_classifier(self.configs["model"], self.classifier)
        model.load_state_dict(average)
        model.to(self.device)
        report = self.report(model)
        checkpoint.save(trainer.run_dir / "best", model, self.tokenizer, self.config_dict())
        trainer.log.say(
            f"best/: the mean of the weights after the last {len(self.snapshots)} "
            f"epochs (--average-epochs): validation accuracy {report['accuracy']:.4f}, "
            f"macro-F1 {report['macro_f1']:.4f}"
        )

    def rank_state(self) -> dict:
        return {}

    def restore_rank_state(self, tensors: dict | None) -> None:
        pass  # nothing differs between ranks but the RNG, which the trainer restores

    def extra_state(self) -> tuple[dict, dict]:
        tensors = {
            f"snapshot.{index}.{name}": value
            for index, snapshot in enumerate(self.snapshots)
            for name, value in snapshot.items()
        }
        return {"best_epoch": self.best_epoch, "stale_epochs": self.stale_epochs}, tensors

    def restore_extra_state(self, scalars: dict, tensors: dict) -> None:
        self.best_epoch, self.stale_epochs = scalars["best_epoch"], scalars["stale_epochs"]
        snapshots: dict[int, dict] = {}
        for name, value in tensors.items():
            if name.startswith("snapshot."):
                _, index, key = name.split(".", 2)
                snapshots.setdefault(int(index), {})[key] = value
        self.snapshots = [snapshots[index] for index in sorted(snapshots)]
