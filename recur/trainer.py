"""Training language models: ``fit()`` runs read -> tokenize -> batch -> model -> checkpoint.

Stateful truncated BPTT over B parallel streams (see data.py), AdamW with gradient-norm clipping,
a warm-up + cosine schedule laid out over the plan (schedule.py), full-stream validation with the
best and last checkpoints written atomically, and exact resume: ``last/`` carries the optimizer,
RNG states, data cursor and the carried hidden state. Ctrl-C saves ``last/`` and returns.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import checkpoint
from .config import DataConfig, ModelConfig, TrainConfig, to_dict
from .data import StreamBatches, split_text
from .errors import RecurError
from .evaluate import metrics, stream_loss
from .generate import generate
from .logbook import Logbook, plot_losses
from .models import build_model, count_parameters
from .readers import load_text
from .schedule import EvalClock, learning_rate, make_plan
from .tokenizer import build_tokenizer
from .trainer_state import capture


@dataclass
class Corpus:
    tokenizer: object
    train_ids: np.ndarray
    val_ids: np.ndarray
    val_characters: int
    summary: str = ""                 # extra summary line (MIDI: files, notes, events)
    baseline: float | None = None     # unigram loss of the validation tokens (MIDI)


def prepare_corpus(data: DataConfig, tokenizer=None) -> Corpus:
    """Read the text, split it (last ``val_fraction`` is validation), fit and apply the tokenizer.
    MIDI inputs go to music.prepare_midi (bits per char are then bits per event)."""
    from .music import is_music, prepare_midi

    if is_music(data):
        return Corpus(**prepare_midi(data, tokenizer))
    text = load_text(data.paths, data.corpus, data.glob, data.encoding)
    train_text, val_text = split_text(text, data.val_fraction)
    if tokenizer is None:
        tokenizer = build_tokenizer(data.level).fit([train_text])
    val_ids = tokenizer.encode_array(val_text)
    if data.val_fraction > 0 and len(val_ids) < 2:
        raise RecurError("the validation slice is too small: add text or raise --val-fraction")
    val_characters = len(val_text) - len(tokenizer.decode(val_ids[:1].tolist()))
    return Corpus(tokenizer, tokenizer.encode_array(train_text), val_ids, val_characters)


def choose_device(train: TrainConfig) -> torch.device:
    torch.set_num_threads(train.threads or os.cpu_count() or 1)
    if train.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if train.device.startswith("cuda") and not torch.cuda.is_available():
        raise RecurError("--device cuda: no CUDA device is available here; use --device cpu")
    return torch.device(train.device)


def build_optimizer(model, train: TrainConfig) -> torch.optim.Optimizer:
    # Weight decay on matrices only; biases are left alone.
    params = list({id(p): p for p in model.parameters()}.values())
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": train.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=train.lr, betas=(0.9, 0.99))


class Trainer:
    """One training run: its model, optimizer, data cursor and carried state."""

    def __init__(self, configs: dict, corpus: Corpus, run_dir: Path, device, logbook: Logbook):
        self.data: DataConfig = configs["data"]
        self.train: TrainConfig = configs["train"]
        self.model_config: ModelConfig = configs["model"]
        self.corpus, self.run_dir, self.device, self.log = corpus, run_dir, device, logbook
        torch.manual_seed(self.train.seed)
        self.model = build_model(self.model_config).to(device)
        self.optimizer = build_optimizer(self.model, self.train)
        self.batches = StreamBatches(corpus.train_ids, self.data.batch_size, self.data.seq_length,
                                     self.train.seed)
        self.plan = make_plan(self.train, self.batches.chunks_per_epoch())
        self.clock = EvalClock(self.train.eval_every)
        self.step, self.epoch, self.chunk, self.elapsed, self.tokens = 0, 0, 0, 0.0, 0
        self.best, self.hidden, self.last_loss = math.inf, None, math.nan
        self.validated_step, self.current_lr = -1, self.train.lr

    def config_dict(self) -> dict:
        return {"model": to_dict(self.model_config), "data": to_dict(self.data),
                "train": to_dict(self.train)}

    def run(self) -> None:
        interval_loss, interval_steps, started = 0.0, 0, time.perf_counter()
        try:
            while not self.plan.done(self.step, self.elapsed):
                if self.train.stop_after is not None and self.step >= self.train.stop_after:
                    self.log.say(f"stopping at step {self.step} (--stop-after); "
                                 f"continue with: recur train --resume {self.run_dir}")
                    break
                tick = time.perf_counter()
                self.last_loss = self.train_step()
                self.elapsed += time.perf_counter() - tick
                interval_loss, interval_steps = interval_loss + self.last_loss, interval_steps + 1
                progress = self.plan.progress(self.step, self.elapsed)
                if self.step % self.train.log_every == 0 or self.plan.done(self.step, self.elapsed):
                    self.log_train(interval_loss / interval_steps, progress)
                    interval_loss, interval_steps = 0.0, 0
                if self.clock.due(self.step, self.elapsed, progress):
                    self.validate()
        except KeyboardInterrupt:
            self.log.close()
            self.log.say(f"interrupted at step {self.step}: saving {self.run_dir / 'last'}")
            self.save_last()
            raise
        self.log.close()
        if self.validated_step != self.step:
            self.validate()
        self.log.say(f"done: {self.step} steps, {self.tokens:,} tokens in {self.elapsed:.1f} s of "
                     f"training ({time.perf_counter() - started:.1f} s in all); "
                     f"last step loss {self.last_loss:.6f}; best validation loss {self.best:.4f}")

    def train_step(self) -> float:
        x, y = self.batches.chunk(self.epoch, self.chunk)
        x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
        lr = learning_rate(self.train, self.step, self.plan.progress(self.step, self.elapsed))
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        if self.hidden is not None:
            self.hidden = tuple(h.detach() for h in self.hidden)   # truncate BPTT here
        logits, self.hidden = self.model(x, self.hidden)           # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.train.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.train.grad_clip)
        self.optimizer.step()
        self.step, self.tokens, self.chunk = self.step + 1, self.tokens + y.numel(), self.chunk + 1
        if self.chunk >= self.batches.chunks_per_epoch(self.epoch):
            self.epoch, self.chunk, self.hidden = self.epoch + 1, 0, None   # new streams
        self.current_lr = lr
        return loss.item()

    def save_last(self) -> None:
        checkpoint.save(self.run_dir / "last", self.model, self.corpus.tokenizer,
                        self.config_dict(), capture(self))

    def log_train(self, loss: float, progress: float) -> None:
        rate = self.tokens / max(self.elapsed, 1e-9)
        self.log.write({"kind": "train", "step": self.step, "epoch": self.epoch,
                        "tokens": self.tokens, "time": round(self.elapsed, 3), "loss": loss,
                        "step_loss": self.last_loss, "lr": self.current_lr,
                        "tokens_per_second": round(rate, 1)})
        self.log.progress(progress, self.step, loss, rate, self.current_lr)

    def validate(self) -> None:
        self.validated_step = self.step
        if len(self.corpus.val_ids) < 2:
            self.save_last()
            return
        total, count = stream_loss(self.model, self.corpus.val_ids, self.device)
        result = metrics(total, count, self.corpus.val_characters)
        improved = result["loss"] < self.best
        self.best = min(self.best, result["loss"])
        self.log.write({"kind": "eval", "step": self.step, "tokens": self.tokens,
                        "time": round(self.elapsed, 3), "val_loss": result["loss"],
                        "val_perplexity": result["perplexity"],
                        "val_bits_per_char": result["bits_per_char"], "best": improved})
        unit = "event" if self.corpus.baseline is not None else "char"       # MIDI: per event
        self.log.say(f"step {self.step}: validation loss {result['loss']:.4f} "
                     f"(perplexity {result['perplexity']:.2f}, {result['bits_per_char']:.3f} "
                     f"bits/{unit}){' *best*' if improved else ''}")
        if improved:
            checkpoint.save(self.run_dir / "best", self.model, self.corpus.tokenizer,
                            self.config_dict())
        self.save_last()
        self.print_samples()

    def print_samples(self) -> None:
        if self.train.samples <= 0:
            return
        samples = generate(self.model, self.corpus.tokenizer, length=160,
                           num_samples=self.train.samples, seed=self.train.seed, device=self.device)
        for text in samples.texts:
            self.log.say("  | " + text.strip().replace("\n", "\n  | ")[:600])


def default_run_dir(data: DataConfig) -> Path:
    """runs/<corpus or first file's stem>, with -2, -3... when that name is taken."""
    stem = data.corpus or (Path(data.paths[0]).stem if data.paths else "run")
    candidate, number = Path("runs") / stem, 1
    while candidate.exists():
        number += 1
        candidate = Path("runs") / f"{stem}-{number}"
    return candidate


def fit(data: DataConfig, model: ModelConfig, train: TrainConfig, resume: str | None = None,
        quiet: bool = False) -> Path:
    """Train a language model; returns the run directory. See ``api.train`` for the Python call."""
    device = choose_device(train)
    if resume:
        run_dir = Path(resume)
        tokenizer = checkpoint.load(run_dir / "last").tokenizer
    else:
        run_dir = Path(train.out) if train.out else default_run_dir(data)
        if (run_dir / "last").exists() or (run_dir / "best").exists():
            raise RecurError(f"{run_dir} already holds a run: continue it with --resume {run_dir}, "
                             "or choose another --out")
        tokenizer = None
    corpus = prepare_corpus(data, tokenizer)
    model.vocab_size = corpus.tokenizer.vocab_size
    run_dir.mkdir(parents=True, exist_ok=True)
    log = Logbook(run_dir, quiet)
    trainer = Trainer({"data": data, "model": model, "train": train}, corpus, run_dir, device, log)
    if resume:
        _restore(trainer, run_dir / "last", device)
    _summary(trainer, resume)
    try:
        trainer.run()
    finally:
        log.close()
        plot_losses(run_dir)
    if corpus.baseline is not None:
        log.write({"kind": "baseline", "unigram_val_loss": corpus.baseline, "best": trainer.best})
        log.say(f"best validation loss {trainer.best:.4f} nats/event against "
                f"{corpus.baseline:.4f} for a unigram model of the same events")
    return run_dir


def _restore(trainer: Trainer, directory: Path, device) -> None:
    from safetensors.torch import load_model

    from .trainer_state import restore

    load_model(trainer.model, str(directory / "model.safetensors"), device=str(device))
    restore(trainer, checkpoint.load_trainer_state(directory))


def _summary(trainer: Trainer, resume) -> None:
    corpus, say = trainer.corpus, trainer.log.say
    config = trainer.model_config
    say(f"{'resuming' if resume else 'training'} {trainer.run_dir}: "
        f"{len(corpus.train_ids):,} training and {len(corpus.val_ids):,} validation tokens, "
        f"vocabulary {corpus.tokenizer.vocab_size}")
    if corpus.summary:
        say(corpus.summary)
    say(f"model: {config.num_layers}x{config.hidden_size} {config.cell.upper()}, embedding "
        f"{config.embedding_size}{', tied' if trainer.model.tied else ''}, "
        f"{count_parameters(trainer.model):,} parameters on {trainer.device} "
        f"({torch.get_num_threads()} threads); batch {trainer.data.batch_size}x"
        f"{trainer.data.seq_length}")
    say(f"plan: {trainer.plan.describe()}" + (f", from step {trainer.step}" if resume else ""))
