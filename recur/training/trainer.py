"""The one training loop, for every kind of run: ``Trainer`` drives a ``Task`` (task.py).

The task gives batches, losses and validation scores; the trainer owns the rest, once: the plan
(schedule.py), the learning rate of every step, mixed precision, gradient clipping, the
evaluation clock, ``best/`` and ``last/`` written atomically, ``--stop-after`` and Ctrl-C (both
leave ``last/``), exact resume (runs/trainer_state.py) and torchrun (DDP, rank 0's clock).
An epoch rolls over lazily, when its next batch is asked for: a validation right after an
epoch's last batch still sees that epoch.
"""

from __future__ import annotations

import math
import time

import torch

from recur.config.options import TrainConfig
from recur.kernels import allocator
from recur.runs import checkpoint
from recur.runs.logbook import Logbook
from recur.runs.trainer_state import capture, gather_ranks, restore
from recur.training.averaging import WeightAverage
from recur.training.distributed import wrap
from recur.training.optimizer import (
    autocast,
    build_optimizer,
    check_precision,
    grad_scaler,
    resolve_precision,
)
from recur.training.schedule import EvalClock, learning_rate, make_plan
from recur.training.session import Session
from recur.training.task import Score, Task


class Trainer:
    """One training run: the task's model, the optimizer, the position in the data, the clock."""

    def __init__(self, task: Task, train: TrainConfig, session: Session, logbook: Logbook):
        self.task, self.train, self.log = task, train, logbook
        self.group, self.device, self.run_dir = session.group, session.device, session.run_dir
        torch.manual_seed(train.seed)
        self.model = task.build_model().to(self.device)
        # auto becomes what this machine runs, written into the run's config (resume keeps it)
        train.precision = resolve_precision(train.precision, self.device, self.model)
        check_precision(self.model, self.device, train.precision)
        self.reseed_cudnn = reseeds_cudnn_dropout(self.model, self.device)
        self.optimizer = build_optimizer(self.model, train, task.lr_scales(self.model))
        self.network = wrap(self.model, self.group, self.device)
        self.plan = make_plan(train, task.batch_count(0))
        self.scaler = grad_scaler(self.device, train.precision)
        self.clock = EvalClock(train.eval_every, auto=task.auto_eval)
        self.average = WeightAverage(train.average_from)
        self.step, self.epoch, self.position, self.elapsed, self.tokens = 0, 0, 0, 0.0, 0
        self.best = -math.inf if task.higher_is_better else math.inf
        self.last_loss, self.current_lr, self.validated_step = math.nan, train.lr, -1
        self.stopped, self.started = False, time.perf_counter()
        task.start(self)

    def resume(self) -> None:
        """Continue from ``last/``: its weights, optimizer, RNG, position and the task's state."""
        last = self.run_dir / "last"
        checkpoint.load_weights(self.model, last, self.device)
        restore(self, checkpoint.load_trainer_state(last))

    def run(self) -> bool:
        """Train until the plan ends or the task stops early (True), or ``--stop-after`` (False)."""
        self.started = time.perf_counter()
        try:
            finished = self.loop()
        except KeyboardInterrupt:
            self.log.close()
            if self.group.is_main:
                self.log.say(f"interrupted at step {self.step}: saving {self.run_dir / 'last'}")
                self.save_last(capture(self, gather_ranks(self, collective=False)))
            raise
        self.log.close()
        if not finished:
            state = capture(self, gather_ranks(self))
            if self.group.is_main:
                self.save_last(state)
        elif self.validated_step != self.step:
            self.checkpoint()
        if self.group.is_main:
            self.task.finish(self, finished)
        return finished

    def loop(self) -> bool:
        interval_loss, interval_steps = 0.0, 0
        while True:
            # Rank 0's clock and early stop rule, so every rank keeps the schedule and stops too.
            self.elapsed, stopped = self.group.agree([self.elapsed, float(self.stopped)])
            self.stopped = bool(stopped)
            if self.stopped or self.plan.done(self.step, self.elapsed):
                return True
            if self.train.stop_after is not None and self.step >= self.train.stop_after:
                self.log.say(
                    f"stopping at step {self.step} (--stop-after); "
                    f"continue with: recur train --resume {self.run_dir}"
                )
                return False
            tick = time.perf_counter()
            self.last_loss = self.train_step()
            self.elapsed += time.perf_counter() - tick
            interval_loss, interval_steps = interval_loss + self.last_loss, interval_steps + 1
            progress = self.plan.progress(self.step, self.elapsed)
            rate = self.tokens / max(self.elapsed, 1e-9)
            self.log.progress(
                progress, self.step, interval_loss / interval_steps, rate, self.current_lr
            )
            if self.step % self.train.log_every == 0 or self.plan.done(self.step, self.elapsed):
                self.log_train(interval_loss / interval_steps)
                interval_loss, interval_steps = 0.0, 0
            epoch_ended = self.position >= self.task.batch_count(self.epoch)
            if self.clock.due(self.step, self.elapsed, progress, epoch_ended):
                self.checkpoint()

    def train_step(self) -> float:
        if self.position >= self.task.batch_count(self.epoch):
            self.epoch, self.position = self.epoch + 1, 0
            self.task.new_epoch()
        batch = self.task.batch(self.epoch, self.position)
        lr = learning_rate(self.train, self.step, self.plan.progress(self.step, self.elapsed))
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        if self.reseed_cudnn:  # cuDNN reseeds its dropout from the generator: exact resume
            torch.cuda.set_rng_state(torch.cuda.get_rng_state(self.device), self.device)
        with autocast(self.device, self.train.precision):
            loss, tokens = self.task.loss(self.network, batch, self.step)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.train.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.train.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.step, self.position = self.step + 1, self.position + 1
        self.tokens += tokens * self.group.world_size
        self.current_lr = lr
        self.average.update(self.model, self.plan.progress(self.step, self.elapsed))
        return loss.item()

    def checkpoint(self) -> None:
        """Collect every rank's resume state; rank 0 validates, then writes ``last/``."""
        self.validated_step = self.step
        ranks = gather_ranks(self)  # before validation: samples may draw on the RNG
        if self.group.is_main:
            self.validate()
            self.save_last(capture(self, ranks))
        if self.device.type == "cpu":  # validation's and sampling's freed blocks: not kept
            allocator.release_freed_memory()

    def validate(self) -> None:
        """Score the model (its averaged weights once --average-from has started them)."""
        with self.average.applied(self.model):
            score = self.task.validate(self)
            if score is None:
                return
            improved = self.improves(score)
            self.best = score.value if improved else self.best
            record = {"kind": "eval", "step": self.step, **score.record, "best": improved}
            self.log.write({**record, **self.task.tags})
            self.log.say(score.text + (" *best*" if improved else ""))
            if improved:
                self.save("best")
            self.stopped = self.task.after_validation(self, score, improved) or self.stopped

    def improves(self, score: Score) -> bool:
        if self.task.higher_is_better:
            return score.value > self.best
        return score.value < self.best

    def save(self, name: str, state: dict | None = None) -> None:
        checkpoint.save(
            self.run_dir / name, self.model, self.task.tokenizer, self.task.config_dict(), state
        )

    def save_last(self, state: dict) -> None:
        self.save("last", state)

    def log_train(self, loss: float) -> None:
        rate = self.tokens / max(self.elapsed, 1e-9)
        self.log.write(
            {
                "kind": "train",
                "step": self.step,
                "epoch": self.epoch,
                "tokens": self.tokens,
                "time": round(self.elapsed, 3),
                "loss": loss,
                "step_loss": self.last_loss,
                "lr": self.current_lr,
                "tokens_per_second": round(rate, 1),
                **self.task.tags,
            }
        )


def reseeds_cudnn_dropout(model: torch.nn.Module, device: torch.device) -> bool:
    """Whether cuDNN drops out between stacked recurrent layers here. It keeps that dropout's
    state itself, seeded once from the CUDA generator and advanced by every call, so restoring
    the generator on resume cannot restore it; setting the generator's state (to itself) before
    each step makes cuDNN reseed from it, and the masks then follow the saved RNG state."""
    return device.type == "cuda" and any(
        isinstance(m, torch.nn.RNNBase) and m.dropout > 0 and m.num_layers > 1
        for m in model.modules()
    )
