"""What a run reports: ``metrics.jsonl``, the progress bar (or plain lines off a terminal), the
loss-curve PNG."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from tqdm import tqdm

from recur import extras


class Logbook:
    """Appends JSON lines to ``metrics.jsonl`` and keeps the user informed while training."""

    def __init__(self, run_dir: Path, quiet: bool = False, enabled: bool = True):
        self.path = Path(run_dir) / "metrics.jsonl"
        self.quiet, self.enabled = quiet or not enabled, enabled
        self.bar = None
        self.last_print = 0.0
        if not self.quiet and sys.stderr.isatty():
            self.bar = tqdm(
                total=100.0,
                unit="%",
                dynamic_ncols=True,
                leave=True,
                bar_format="{l_bar}{bar}| {elapsed}<{remaining} {postfix}",
            )

    def write(self, record: dict) -> None:
        if not self.enabled:
            return
        with open(self.path, "a+b") as handle:
            # a line a kill cut short (before a resume) is ended, so the next one stands alone
            size = handle.seek(0, os.SEEK_END)
            torn = size > 0 and handle.seek(size - 1) >= 0 and handle.read(1) != b"\n"
            handle.write((("\n" if torn else "") + json.dumps(record) + "\n").encode("utf-8"))

    def say(self, message: str) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.write(message, file=sys.stderr)
        else:
            print(message, file=sys.stderr, flush=True)

    def progress(
        self,
        progress: float,
        step: int,
        loss: float,
        tokens_per_second: float,
        learning_rate: float,
    ) -> None:
        """Called every step; redraws the bar twice a second, or prints a line every 15 s."""
        now = time.monotonic()
        if self.quiet or now - self.last_print < (0.5 if self.bar is not None else 15.0):
            return
        self.last_print = now
        text = f"step {step} loss {loss:.4f} {tokens_per_second:,.0f} tok/s lr {learning_rate:.2e}"
        if self.bar is not None:
            self.bar.n = round(100.0 * progress, 1)
            self.bar.set_postfix_str(text)
        else:
            self.say(f"[{100 * progress:5.1f}%] {text}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def peak_memory_mb() -> float | None:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss it does not count the
    parent's pages a fork copied before exec)."""
    try:
        for line in open("/proc/self/status", encoding="ascii"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def read_metrics(run_dir) -> list[dict]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # blank, or cut short by a kill
    return [record for record in records if isinstance(record, dict)]


def plot_losses(run_dir) -> Path | None:
    """Training and validation loss against tokens seen, as ``loss.png`` in the run directory."""
    records = read_metrics(run_dir)
    train = [(r["tokens"], r["loss"]) for r in records if r.get("kind") == "train"]
    valid = [(r["tokens"], r["val_loss"]) for r in records if r.get("kind") == "eval"]
    if not train and not valid:
        return None
    figure = extras.figure(figsize=(7, 4))
    axes = figure.subplots()
    for points, label in ((train, "training"), (valid, "validation")):
        if points:
            axes.plot(*zip(*points), label=label, marker="o" if label == "validation" else None)
    axes.set_xlabel("tokens seen")
    axes.set_ylabel("loss (nats per token)")
    axes.grid(alpha=0.3)
    axes.legend()
    path = Path(run_dir) / "loss.png"
    figure.tight_layout()
    temporary = path.with_name(".loss.png.tmp")
    figure.savefig(temporary, dpi=100, format="png")
    os.replace(temporary, path)
    return path
