"""The GPU check's quality runs (``python -m benchmarks.gpu``): the training time of ``recur
train`` on tiny Shakespeare to its first validation loss of 1.45 or less, with the GPU preset
and, while time is left, other settings; and the paths and child environment the check shares.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CARRIED = ROOT / ".gpu"  # scripts/gpu_wheels.sh fills it; ignored by git, carried to the GPU
SITE = Path("/tmp/recur-gpu-site")  # where the carried wheels are installed
SHAKESPEARE = (
    CARRIED / "data" / "tinyshakespeare.txt",
    ROOT / "shared" / "data" / "tinyshakespeare" / "input.txt",
    ROOT.parent / "shared" / "data" / "tinyshakespeare" / "input.txt",
)
TARGET = 1.45
# The GPU preset (config/presets.py) first, then other settings while time is left.
CANDIDATES = (
    ("GPU preset (2×1024 LSTM, batch 128, bf16)", []),
    ("2×512 LSTM, batch 256, bf16", ["--hidden-size", "512", "--batch-size", "256"]),
    ("GPU preset with a GRU", ["--cell", "gru"]),
)
DRY_FLAGS = ["--steps", "12", "--hidden-size", "32", "--embedding-size", "16", "--batch-size"]
DRY_FLAGS += ["4", "--seq-length", "16", "--eval-every", "4", "--threads", "1"]
RUN_SECONDS = 100  # one quality run: 60 s of training, validations, start-up


def child_env() -> dict:
    """This environment, with the carried wheels and this checkout first on PYTHONPATH."""
    paths = [str(SITE), str(ROOT), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def data_file(dry: bool, out: Path) -> Path | None:
    if dry:
        words = "the king said to his lords and the queen went down to the sea".split()
        path = out / "toy.txt"
        path.write_text("".join(" ".join(words[i:] + words[:i]) + ".\n" for i in range(12)) * 8)
        return path
    return next((path for path in SHAKESPEARE if path.is_file()), None)


def quality_rows(budget: str | None, device, out: Path, stop_at: float) -> list[dict]:
    """Per candidate setting, ``recur train`` for ``budget`` (None: the dry run's few steps)
    and the training time of its first validation loss of TARGET or less."""
    data, rows = data_file(budget is None, out), []
    if data is None:
        print(f"no tiny Shakespeare at {', '.join(map(str, SHAKESPEARE))}: skipped", flush=True)
        return rows
    plan = DRY_FLAGS if budget is None else ["--time", budget, "--eval-every", "2s"]
    for name, flags in CANDIDATES[:1] if budget is None else CANDIDATES:
        if rows and time.perf_counter() + RUN_SECONDS > stop_at:
            break
        run = out / f"quality-{len(rows)}"
        shutil.rmtree(run, ignore_errors=True)
        command = ["recur", "train", str(data), "--device", device.type, "--seed", "0"]
        command += ["--samples", "0", "--out", str(run), *plan, *flags]
        rows.append(quality_row(name, run, command))
        print(f"quality {json.dumps(rows[-1])}", flush=True)
    return rows


def quality_row(name: str, run: Path, command: list) -> dict:
    shown = " ".join(part if not part.startswith("/") else Path(part).name for part in command)
    row = {"name": name, "seconds": None, "command": shown}
    try:
        done = subprocess.run(
            [sys.executable, "-m", *command],
            env=child_env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=3 * RUN_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return {**row, "error": "timed out"}
    print("\n".join(done.stderr.splitlines()[-12:]), flush=True)
    if done.returncode != 0:  # a broken path: the error, and the rest of the check goes on
        return {**row, "error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [line for line in lines if line["kind"] == "eval"]
    trains = [line for line in lines if line["kind"] == "train"]
    row["seconds"] = next((e["time"] for e in evals if e["val_loss"] <= TARGET), None)
    row["best"] = min((e["val_loss"] for e in evals), default=float("nan"))
    row["tokens_per_second"] = trains[-1]["tokens_per_second"] if trains else 0.0
    return row
