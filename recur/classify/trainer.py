"""The training loop of classifiers: ``ClassifierTrainer`` (``class_fit.py`` sets a run up).

Epochs of length-bucketed batches (class_batches.py), AdamW with gradient clipping and the same
warm-up + cosine schedule as language models, laid out over the plan (``--epochs``, ``--time`` or
``--steps``). Validation macro-F1 after every epoch picks ``best/`` and drives early stopping
(``--patience``); with ``--average-epochs N`` (3) the final ``best/`` is instead the mean of the
weights at the end of the last N epochs: on a few hundred validation rows the best epoch is
partly chance, and the mean of the schedule's tail beat it on lyrics and AG News (README,
Classify). ``--word-dropout`` turns a seeded fraction of each batch's tokens into ``<unk>``.
``last/`` carries the optimizer, the RNG state and the position in the epoch, so
a resumed run continues exactly; Ctrl-C saves it. With ``--init-from`` the copied encoder weights
stay frozen for the first ``--freeze-epochs``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from recur.classify.batches import (
    bucket_batches,
    class_weights,
    drop_words,
    epoch_order,
    length_batches,
    pad,
)
from recur.models.classifier import build_classifier
from recur.runs import checkpoint
from recur.tokenizers.base import SPECIALS
from recur.training.schedule import learning_rate, make_plan
from recur.training.trainer import build_optimizer

STATE_FIELDS = (
    "step",
    "epoch",
    "position",
    "elapsed",
    "tokens",
    "best",
    "best_epoch",
    "stale_epochs",
    "stopped_early",
)


@dataclass
class LabelledSet:
    """Encoded examples: id arrays, class ids, the cleaned texts (for the baselines) and the
    values of --group-by."""

    ids: list
    labels: np.ndarray
    texts: list
    groups: list

    @property
    def lengths(self) -> np.ndarray:
        return np.array([max(len(i), 1) for i in self.ids])


def predict_probabilities(model, ids: list, device, batch_size: int = 64) -> np.ndarray:
    """(N, C) class probabilities, in the order of ``ids``; batches sorted by length."""
    lengths = np.array([max(len(i), 1) for i in ids])
    result = np.zeros((len(ids), model.num_classes), dtype=np.float32)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for batch in length_batches(lengths, batch_size):
            padded, batch_lengths = pad([ids[i] for i in batch])
            logits = model(padded.to(device), batch_lengths)
            result[batch] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    model.train(was_training)
    return result


def classifier_config_dict(configs: dict) -> dict:
    """What a classifier run's ``config.json`` holds: the task and every config section."""
    from recur.config.options import to_dict

    return {"task": "classify", **{name: to_dict(config) for name, config in configs.items()}}


class ClassifierTrainer:
    """One classifier run: model, optimizer, epoch position and the best macro-F1 so far."""

    def __init__(
        self,
        configs: dict,
        train_set: LabelledSet,
        val_set: LabelledSet,
        tokenizer,
        run_dir: Path,
        device,
        log,
        vectors=None,
    ):
        self.configs, self.train_set, self.val_set = configs, train_set, val_set
        self.data, self.train = configs["data"], configs["train"]
        self.classifier = configs["classifier"]
        self.tokenizer, self.run_dir, self.device, self.log = tokenizer, run_dir, device, log
        torch.manual_seed(self.train.seed)
        self.model = build_classifier(configs["model"], self.classifier)
        if vectors is not None:
            self.model.start_embedding(vectors)
        self.model.to(device)
        self.optimizer = build_optimizer(self.model, self.train)
        weights = class_weights(
            train_set.labels, len(self.classifier.classes), self.classifier.class_weight
        )
        self.weights = None if weights is None else weights.to(device)
        self.plan = make_plan(self.train, len(self.batches(0)))
        self.frozen, self.freeze_steps = [], 0
        self.step, self.epoch, self.position, self.elapsed = 0, 0, 0, 0.0
        self.tokens, self.current_lr = 0, self.train.lr
        self.best, self.best_epoch, self.stale_epochs, self.stopped_early = -1.0, -1, 0, False
        self.tags = {}  # added to every metrics.jsonl line (an ensemble's member index)
        self.snapshots = []  # weights at the end of the last --average-epochs epochs

    def batches(self, epoch: int) -> list:
        order = epoch_order(self.train_set.labels, self.classifier.sampler, self.train.seed, epoch)
        return bucket_batches(
            order, self.train_set.lengths, self.data.batch_size, self.train.seed, epoch
        )

    def freeze(self, names: list) -> None:
        """Keep these (copied) parameters fixed for the first ``freeze_epochs``."""
        self.frozen = names
        self.freeze_steps = round(self.classifier.freeze_epochs * len(self.batches(0)))

    def run(self) -> bool:
        """Train until the plan ends or early stopping (True), or --stop-after (False)."""
        try:
            while not self.finished():
                batches = self.batches(self.epoch)
                while self.position < len(batches) and not self.plan.done(self.step, self.elapsed):
                    if self.paused():
                        return False
                    tick = time.perf_counter()
                    loss = self.train_step(batches[self.position])
                    self.elapsed += time.perf_counter() - tick
                    self.position += 1
                    self.log.progress(
                        self.plan.progress(self.step, self.elapsed),
                        self.step,
                        loss,
                        self.tokens / max(self.elapsed, 1e-9),
                        self.current_lr,
                    )
                self.end_epoch(complete=self.position >= len(batches))
        except KeyboardInterrupt:
            self.log.close()
            self.log.say(f"interrupted at step {self.step}: saving {self.run_dir / 'last'}")
            self.save_last()
            raise
        self.log.close()
        self.save_average()
        return True

    def keep_snapshot(self) -> None:
        if self.classifier.average_epochs > 0:
            self.snapshots.append(
                {
                    name: value.detach().to("cpu", copy=True)
                    for name, value in self.model.state_dict().items()
                }
            )
            self.snapshots = self.snapshots[-self.classifier.average_epochs :]

    def save_average(self) -> None:
        """``--average-epochs``: the mean of the kept snapshots becomes ``best/``."""
        if not self.snapshots:
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
        report = self.validate(model)
        checkpoint.save(self.run_dir / "best", model, self.tokenizer, self.config_dict())
        self.log.say(
            f"best/: the mean of the weights after the last {len(self.snapshots)} "
            f"epochs (--average-epochs): validation accuracy {report['accuracy']:.4f}, "
            f"macro-F1 {report['macro_f1']:.4f}"
        )

    def validate(self, model) -> dict:
        """Accuracy, macro-F1 and the rest of ``scores`` of ``model`` on the validation split."""
        from recur.classify.reports import scores

        classes = self.classifier.classes
        predicted = predict_probabilities(model, self.val_set.ids, self.device).argmax(axis=1)
        return scores(
            [classes[i] for i in self.val_set.labels], [classes[i] for i in predicted], classes
        )

    def paused(self) -> bool:
        """``--stop-after N``: leave the run at step N, as Ctrl-C would."""
        if self.train.stop_after is None or self.step < self.train.stop_after:
            return False
        self.log.close()
        self.log.say(
            f"stopping at step {self.step} (--stop-after); continue with: recur train "
            f"--resume {self.run_dir}"
        )
        self.save_last()
        return True

    def finished(self) -> bool:
        return self.stopped_early or self.plan.done(self.step, self.elapsed)

    def train_step(self, indices: np.ndarray) -> float:
        frozen = self.step < self.freeze_steps
        for name, parameter in self.model.named_parameters():
            if name in self.frozen:
                parameter.requires_grad_(not frozen)
        lr = learning_rate(self.train, self.step, self.plan.progress(self.step, self.elapsed))
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        ids, lengths = pad([self.train_set.ids[i] for i in indices])
        ids = drop_words(
            ids,
            self.classifier.word_dropout,
            self.tokenizer.unk_id,
            len(SPECIALS) + len(self.tokenizer.conditions),
            self.train.seed,
            self.step,
        )
        self.tokens += int(lengths.sum())
        labels = torch.from_numpy(self.train_set.labels[indices]).long().to(self.device)
        logits = self.model(ids.to(self.device), lengths)
        loss = F.cross_entropy(logits.float(), labels, weight=self.weights)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.train.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.train.grad_clip)
        self.optimizer.step()
        self.step, self.current_lr = self.step + 1, lr
        return loss.item()

    def end_epoch(self, complete: bool) -> None:
        """Validate, keep the best, save ``last/``, decide on early stopping."""
        report = self.validate(self.model)
        improved = report["macro_f1"] > self.best
        if improved:
            self.best, self.best_epoch, self.stale_epochs = report["macro_f1"], self.epoch, 0
            checkpoint.save(self.run_dir / "best", self.model, self.tokenizer, self.config_dict())
        else:
            self.stale_epochs += 1
        self.log.write(
            {
                "kind": "eval",
                "step": self.step,
                "epoch": self.epoch,
                "time": round(self.elapsed, 3),
                "val_accuracy": report["accuracy"],
                "val_macro_f1": report["macro_f1"],
                "best": improved,
                **self.tags,
            }
        )
        self.log.say(
            f"epoch {self.epoch + 1} (step {self.step}, {self.elapsed:.0f} s): "
            f"validation accuracy {report['accuracy']:.4f}, macro-F1 "
            f"{report['macro_f1']:.4f}{' *best*' if improved else ''}"
        )
        self.keep_snapshot()
        if complete:
            self.epoch, self.position = self.epoch + 1, 0
        patience = self.classifier.patience
        if patience and self.stale_epochs >= patience:
            self.stopped_early = True
            self.log.say(
                f"stopping early: no better macro-F1 for {patience} epochs "
                f"(--patience); the best was epoch {self.best_epoch + 1}"
            )
        self.save_last()

    def config_dict(self) -> dict:
        return classifier_config_dict(self.configs)

    def save_last(self) -> None:
        groups, tensors = checkpoint.optimizer_to_state(self.optimizer)
        tensors["torch_rng"] = torch.get_rng_state()
        for index, snapshot in enumerate(self.snapshots):
            tensors.update({f"snapshot.{index}.{name}": value for name, value in snapshot.items()})
        state = {name: getattr(self, name) for name in STATE_FIELDS}
        state["optimizer"] = groups
        checkpoint.save(
            self.run_dir / "last",
            self.model,
            self.tokenizer,
            self.config_dict(),
            {"json": state, "tensors": tensors},
        )

    def resume(self) -> None:
        """Continue from ``run_dir/last``: its weights, optimizer, RNG and epoch position."""
        from safetensors.torch import load_model

        last = self.run_dir / "last"
        load_model(self.model, str(last / "model.safetensors"), device=str(self.device))
        self.restore(checkpoint.load_trainer_state(last))

    def restore(self, state: dict) -> None:
        values, tensors = state["json"], state["tensors"]
        for name in STATE_FIELDS:
            setattr(self, name, values[name])
        checkpoint.optimizer_from_state(self.optimizer, values["optimizer"], tensors)
        torch.set_rng_state(tensors["torch_rng"])
        snapshots: dict[int, dict] = {}
        for name, value in tensors.items():
            if name.startswith("snapshot."):
                _, index, key = name.split(".", 2)
                snapshots.setdefault(int(index), {})[key] = value
        self.snapshots = [snapshots[index] for index in sorted(snapshots)]
