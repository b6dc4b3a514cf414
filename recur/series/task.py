"""The numeric-sequence task (kind "series"): what the one ``Trainer`` asks of a run that
classifies, regresses or forecasts sequences.

classify / regress: seeded shuffles of whole sequences in batches (the last one kept), packed
so padding never counts; cross-entropy, or mean squared error on standardised targets;
``--jitter`` adds seeded noise to the training inputs. Validation: accuracy or R² (higher is
better). forecast: each epoch draws seeded training windows (context + horizon steps) from the
histories, the DeepAR loss is their negative log-likelihood; validation forecasts the held-out
last H steps of every series from ``VALIDATION_ORIGINS`` origins among them (H, ..., a few steps
ahead) from sample paths and scores their quantile loss (a CRPS estimate, lower is better); one
origin's H steps miss or hit together, so one origin alone picks checkpoints by chance.
``--forecast-patience`` stops a forecaster whose CRPS has not improved for N validations.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from recur.config.options import to_dict
from recur.models.series import build_series_model
from recur.runs import checkpoint
from recur.series.forecast import (
    known_covariates,
    model_units,
    quantile_loss,
    sample_paths,
    window_length,
    window_loss,
)
from recur.series.metrics import classification_scores, regression_scores
from recur.series.prepare import Prepared, features, label_ids
from recur.training.distributed import Group
from recur.training.task import Score

VALIDATION_PATHS = 100  # sample paths per series and origin when validating a forecaster
VALIDATION_ORIGINS = 4  # forecast origins among the held-out last H steps, evenly spaced


def series_config_dict(configs: dict) -> dict:
    return {"kind": "series", **{name: to_dict(config) for name, config in configs.items()}}


def pad(inputs: list) -> tuple[torch.Tensor, torch.Tensor]:
    """(T_i, F) tensors -> (B, T, F) zero-padded and their (B,) lengths."""
    lengths = torch.tensor([len(x) for x in inputs])
    return torch.nn.utils.rnn.pad_sequence(inputs, batch_first=True), lengths


@torch.no_grad()
def predict_outputs(model, inputs: list, device, batch_size: int = 256) -> np.ndarray:
    """(N, outputs) logits or standardised targets for the (T_i, F) ``inputs``."""
    was_training = model.training
    model.eval()
    out = []
    for first in range(0, len(inputs), batch_size):
        padded, lengths = pad(inputs[first : first + batch_size])
        out.append(model(padded.to(device), lengths).float().cpu().numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def _scaled(scaler, history, values):
    """``values`` scaled by the statistics ``history`` is scaled by."""
    return scaler.scale(values, scaler.stats(history))


class SeriesTask:
    """One numeric-sequence run as the trainer drives it."""

    kind = "series"
    auto_eval = "epoch"

    def __init__(self, configs: dict, prepared: Prepared, group: Group):
        self.configs, self.group = configs, group
        self.series, self.data, self.train = configs["series"], configs["data"], configs["train"]
        self.tokenizer = prepared.scaler
        self.prepared = prepared
        # Classifiers are chosen by validation cross-entropy: on the few dozen validation
        # sequences of a small set, accuracy ties early and by chance.
        self.higher_is_better = self.series.task == "regress"
        # A forecaster's epoch is a few windows: validate about 6 times a run instead.
        self.auto_eval = "progress" if self.series.task == "forecast" else "epoch"
        self.tags: dict = {}
        self.device = torch.device("cpu")
        self.cached: tuple = (-1, [])
        self.stale, self.best_step = 0, 0  # validations since the best one, and its step
        if self.series.task == "forecast":
            self._forecast_data(prepared)
        else:
            self.inputs = [features(v, prepared.scaler, self.series) for v in prepared.train.values]
            self.val_inputs = [
                features(v, prepared.scaler, self.series) for v in prepared.val.values
            ]
            self.targets, self.val_targets = (
                self._targets(prepared.train),
                self._targets(prepared.val),
            )

    def _targets(self, data) -> torch.Tensor | None:
        if data.targets is None or len(data) == 0:
            return None
        if self.series.task == "classify":
            return torch.from_numpy(label_ids(data, self.series))
        return torch.from_numpy(self.tokenizer.scale_targets(data.targets))

    def _forecast_data(self, prepared: Prepared) -> None:
        """Scaled histories (the held-out last H steps cut off when validating) and truths."""
        horizon, scaler = self.series.forecast, prepared.scaler
        validating = self.data.val_fraction > 0
        self.histories, self.covariates, self.cases = [], [], []
        self.local = scaler.mode == "series"
        stride = math.ceil(horizon / VALIDATION_ORIGINS)
        for index, values in enumerate(prepared.train.values):
            history = values[:-horizon] if validating and len(values) > horizon else values
            z, _ = model_units(scaler, history)
            self.histories.append(torch.from_numpy(z)[None])
            known = known_covariates(scaler, prepared.train, index, len(values))
            self.covariates.append(known)
            if validating and len(values) > horizon:
                for k in range(0, horizon, stride):
                    origin = len(values) - horizon + k
                    if k and origin - horizon <= max(self.series.lags):
                        continue  # too short a series for more than the first origin
                    self.cases.append((index, *self._validation_case(values, origin)))
        self.length = window_length([h.shape[1] for h in self.histories], self.series)
        first = max(self.series.lags)
        self.starts = [max(0, h.shape[1] - self.length - first) for h in self.histories]

    def _validation_case(self, values: np.ndarray, origin: int) -> tuple:
        """(history in model units, truth after ``origin`` in the same units)."""
        history, truth = values[:origin], values[origin:]
        if self.local:
            return self.tokenizer.forward(history), self.tokenizer.forward(truth)
        z, _ = model_units(self.tokenizer, history)
        return z, _scaled(self.tokenizer, history, truth)

    def _covariates(self, index: int) -> torch.Tensor | None:
        known = self.covariates[index]
        return None if known is None else torch.from_numpy(known)[None]

    def build_model(self) -> torch.nn.Module:
        return build_series_model(self.configs["model"], self.series)

    def lr_scales(self, model) -> dict:
        return {}  # one learning rate for every parameter

    def start(self, trainer) -> None:
        self.device = trainer.device

    def config_dict(self) -> dict:
        return series_config_dict(self.configs)

    def batches(self, epoch: int) -> list:
        if self.cached[0] == epoch:
            return self.cached[1]
        rng = np.random.default_rng([self.train.seed, epoch])
        size = self.data.batch_size
        if self.series.task == "forecast":
            weights = np.array(self.starts, dtype=np.float64)
            total = int(weights.sum()) + len(weights)
            count = max(size, math.ceil(total * self.series.forecast / self.length))
            chosen = rng.choice(len(weights), size=count, p=(weights + 1) / (weights + 1).sum())
            items: list = [(int(i), int(rng.integers(0, self.starts[i] + 1))) for i in chosen]
        else:
            items = [int(i) for i in rng.permutation(len(self.inputs))]
        batches = [items[k : k + size] for k in range(0, len(items), size)]
        ranks = self.group.world_size
        if ranks > 1:
            batches = batches[self.group.rank :: ranks][: len(batches) // ranks]
        self.cached = (epoch, batches)
        return batches

    def batch_count(self, epoch: int) -> int:
        return len(self.batches(epoch))

    def batch(self, epoch: int, index: int):
        return self.batches(epoch)[index]

    def new_epoch(self) -> None:
        pass  # nothing is carried from one batch to the next

    def loss(self, network, batch, step: int) -> tuple[torch.Tensor, int]:
        if self.series.task == "forecast":
            first = max(self.series.lags)
            windows = [(self.histories[i], self._covariates(i), first + s) for i, s in batch]
            loss = window_loss(network, windows, self.length, self.series, self.device, self.local)
            return loss, len(batch) * self.length
        padded, lengths = pad([self.inputs[i] for i in batch])
        if self.series.jitter > 0:
            noise = torch.Generator().manual_seed(self.train.seed * 1_000_003 + step)
            padded = padded + self.series.jitter * torch.randn(padded.shape, generator=noise)
        output = network(padded.to(self.device), lengths).float()
        assert self.targets is not None  # a classify / regress run has its targets
        targets = self.targets[batch].to(self.device)
        if self.series.task == "classify":
            return F.cross_entropy(output, targets), int(lengths.sum())
        return F.mse_loss(output, targets), int(lengths.sum())

    def report(self, model) -> dict | None:
        """The validation figures of ``model``: accuracy / R² and the rest, or the CRPS."""
        if self.series.task == "forecast":
            if not self.cases:
                return None
            losses = [
                quantile_loss(
                    sample_paths(
                        model,
                        history,
                        len(truth),
                        self.series,
                        VALIDATION_PATHS,
                        seed=number,
                        covariates=self.covariates[index],
                        local=self.local,
                    ),
                    truth,
                )
                for number, (index, history, truth) in enumerate(self.cases)
            ]
            return {"crps": float(np.mean(losses))}
        if self.val_targets is None:
            return None
        output = predict_outputs(model, self.val_inputs, self.device)
        if self.series.task == "classify":
            names = self.series.class_names
            true = [names[i] for i in self.val_targets.tolist()]
            report = classification_scores(true, [names[i] for i in output.argmax(1)], names)
            logits = torch.from_numpy(output)
            report["loss"] = float(F.cross_entropy(logits, self.val_targets).item())
            return report
        values = self.tokenizer.unscale_targets(self.val_targets.numpy())
        guess = self.tokenizer.unscale_targets(output)
        return regression_scores(values, guess, self.series.targets)

    def validate(self, trainer) -> Score | None:
        report = self.report(trainer.model)
        if report is None:
            return None
        name = {"classify": "loss", "regress": "r2", "forecast": "crps"}[self.series.task]
        shown = ["accuracy", "loss"] if self.series.task == "classify" else [name]
        record = {"epoch": trainer.epoch, "time": round(trainer.elapsed, 3)}
        record.update({f"val_{key}": report[key] for key in shown})
        text = (
            f"epoch {trainer.epoch + 1} (step {trainer.step}, {trainer.elapsed:.0f} s): "
            + ", ".join(f"validation {key} {report[key]:.4f}" for key in shown)
        )
        return Score(report[name], record, text)

    def after_validation(self, trainer, score: Score, improved: bool) -> bool:
        """``--forecast-patience``: True (stop) after that many validations without a better
        CRPS; ``best/`` already holds the best weights."""
        if improved:
            self.best_step, self.stale = trainer.step, 0
        else:
            self.stale += 1
        patience = self.series.forecast_patience if self.series.task == "forecast" else 0
        if not patience or self.stale < patience:
            return False
        trainer.log.say(
            f"stopping early at step {trainer.step}: no better validation CRPS for {patience} "
            f"validations (--forecast-patience); best/ holds step {self.best_step}'s weights "
            f"(CRPS {trainer.best:.4f})"
        )
        return True

    def finish(self, trainer, finished: bool) -> None:
        """``--keep last`` (or no validation): the final weights become ``best/``."""
        never_validated = not (trainer.run_dir / "best").is_dir()
        if finished and (self.series.keep == "last" or never_validated):
            checkpoint.save(
                trainer.run_dir / "best", trainer.model, self.tokenizer, self.config_dict()
            )

    def rank_state(self) -> dict:
        return {}

    def restore_rank_state(self, tensors: dict | None) -> None:
        pass

    def extra_state(self) -> tuple[dict, dict]:
        return {"series_stale": self.stale, "series_best_step": self.best_step}, {}

    def restore_extra_state(self, scalars: dict, tensors: dict) -> None:
        self.stale = scalars.get("series_stale", 0)
        self.best_step = scalars.get("series_best_step", 0)
