"""The precision a served model samples at: the fastest of fp32, bf16 and int8 whose loss on a slice
of the run's validation text stays within ``TOLERANCE`` of fp32's, measured through the same
one-token steps the server samples with (``Stepper``), so both the loss and the speed are the
server's own. Without the run's text at hand the slice is the model's own fp32 sample."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.nn import functional as F

from recur.generate.loop import generate
from recur.generate.stepper import SMALL_PRODUCT, Stepper
from recur.kernels import quantized

TOLERANCE = 0.005  # the loss may rise by 0.5% of fp32's
ROWS = 16  # the slice is stepped as this many parallel rows: a batch, as the server steps
TAIL_BYTES = 1 << 16  # read at most this much of the end of the training text
ROUNDS = 2  # each precision is timed this many times, alternating
WARM_UP = 4  # steps left out of the timing
FASTER = 0.95  # a precision must step at least 5% faster than the one it replaces


@dataclass
class Choice:
    precision: str
    source: str  # where the slice came from: "validation text" or "model sample"
    tokens: int
    measured: dict = field(default_factory=dict)  # precision -> {"loss", "ms_per_step"}


def candidates(device: str) -> list[str]:
    """fp32 first; int8 only on the CPU with the quantized kernels on."""
    found = ["fp32", "bf16"]
    if str(device).startswith("cpu") and quantized.available():
        found.append("int8")
    return found


def validation_ids(bundle, tokens: int) -> tuple[list[int], str]:
    """Up to ``tokens`` ids from the end of the run's text (the end is its validation split),
    else from the model's own fp32 sample."""
    data = bundle.config.get("data", {})
    paths = [Path(p) for p in data.get("paths") or []]
    plain = data.get("documents", "none") in ("none", "auto") and not data.get("midi")
    if plain and paths and paths[-1].is_file():
        with open(paths[-1], "rb") as handle:
            handle.seek(max(0, paths[-1].stat().st_size - TAIL_BYTES))
            text = handle.read().decode(data.get("encoding", "utf-8"), errors="ignore")
        tokenizer = bundle.tokenizer
        if not tokenizer.unknown(text):
            ids = tokenizer.encode(text)[-tokens:]
            if len(ids) >= 2 * ROWS:
                return ids, "validation text"
    sample = generate(
        bundle.model, bundle.tokenizer, length=max(tokens // ROWS, 2), num_samples=ROWS, seed=0
    )
    ids = [i for text in sample.texts for i in bundle.tokenizer.encode(text)]
    return ids[:tokens], "model sample"


@torch.no_grad()
def measure(model, ids: list[int], precision: str, device="cpu") -> dict:
    """Mean loss per token and milliseconds per batched step of the one-token path."""
    width = len(ids) // ROWS
    rows = torch.tensor(ids[: ROWS * width], device=device).view(ROWS, width)
    stepper = Stepper(model, precision)
    _, state = model(rows[:, :1], None)
    layers = stepper.to_layers(state)
    total, started = 0.0, time.perf_counter()
    for t in range(1, width - 1):
        if t == WARM_UP:  # TorchScript profiles and optimises its first calls
            started = time.perf_counter()
        logits, layers = stepper(rows[:, t], layers)
        total += float(F.cross_entropy(logits.float(), rows[:, t + 1], reduction="sum"))
    elapsed = time.perf_counter() - started
    steps = max(width - 2, 1)
    timed = max(width - 1 - WARM_UP, 1)
    return {"loss": total / (steps * ROWS), "ms_per_step": 1000 * elapsed / timed}


def choose(bundle, wanted: str, tokens: int, device="cpu") -> Choice:
    """``wanted`` itself unless it is "auto"; else measure every candidate and keep the fastest
    within the tolerance (fp32 unless another is clearly faster)."""
    if wanted != "auto":
        return Choice(wanted, "asked", 0)
    ids, source = validation_ids(bundle, tokens)
    choice = Choice("fp32", source, len(ids))
    if len(ids) < 4 * ROWS:
        return choice
    if not any(p.dim() == 2 and p.numel() >= SMALL_PRODUCT for p in bundle.model.parameters()):
        return choice  # every product stays fp32 whatever the precision (stepper.py)
    for _ in range(ROUNDS):  # alternated, best of each: the host is shared
        for precision in candidates(device):
            result = measure(bundle.model, ids, precision, device)
            best = choice.measured.setdefault(precision, result)
            best["ms_per_step"] = min(best["ms_per_step"], result["ms_per_step"])
    base = choice.measured["fp32"]
    for precision, result in choice.measured.items():
        fast = result["ms_per_step"] < FASTER * choice.measured[choice.precision]["ms_per_step"]
        close = result["loss"] <= base["loss"] * (1 + TOLERANCE)
        if fast and close:
            choice.precision = precision
    return choice
