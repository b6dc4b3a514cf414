"""Choosing a language model's width from its time budget and this machine's measured speed:
``recur train --time T --size auto``.

A short budget on a slow machine is compute-bound: a wide model learns more per token but sees
too few of them, a narrow one stops improving early. The rule here is the widest model (at the
configured depth, 2 layers by default) whose budget still gives it ``TOKENS_PER_PARAMETER``
training tokens per parameter, where the tokens are the budget times the speed measured at
start (a few real training steps of each candidate on this device, with this vocabulary, batch
and chunk length). The ratio was calibrated on tiny Shakespeare at 80 s, 3 and 10 minutes (see
docs/experiments.md, "--size auto"). On a faster machine or a GPU the same budget picks a wider
model: on a CUDA device the probe steps run there, in the run's --precision (bf16 in the GPU
preset), so the speed measured is the GPU's.

A width of ``WIDE_FROM`` (512) or more also lowers the learning rate to ``WIDE_LR`` (the rate
earlier wide runs used); depth, embedding, batch and chunk length stay as configured.
"""

from __future__ import annotations

import time
from dataclasses import replace

import torch

from recur.config.options import DataConfig, ModelConfig, TrainConfig, parse_duration
from recur.errors import RecurError
from recur.models.language_model import build_model, count_parameters
from recur.training.optimizer import autocast, build_optimizer, resolve_precision

WIDTHS = (128, 192, 256, 384, 512, 768, 1024, 1536, 2048)
TOKENS_PER_PARAMETER = 2.0
WIDE_FROM, WIDE_LR = 512, 4e-3
PROBE_STEPS, WARMUP_STEPS = 4, 2


def probe(
    config: ModelConfig,
    data: DataConfig,
    device,
    precision: str = "fp32",
    train: TrainConfig | None = None,
) -> tuple[float, int]:
    """(training tokens per second, parameters) of ``config`` at this batch and chunk length,
    on ``device`` under the run's ``--precision`` autocast: WARMUP_STEPS untimed steps (the
    first steps run slower than the rest of a run), then the median of PROBE_STEPS timed steps
    on random ids, stepped by the run's optimizer (``train``'s ``--optimizer`` and its options;
    None: AdamW). A GPU runs its steps asynchronously, so each step is timed to its end."""
    device = torch.device(device)
    torch.manual_seed(0)
    model = build_model(config).to(device)
    precision = resolve_precision(precision, device, model)
    optimizer = build_optimizer(model, replace(train or TrainConfig(), lr=1e-3))
    ids = torch.randint(0, config.vocab_size, (data.batch_size, data.seq_length + 1), device=device)
    times = []
    for step in range(WARMUP_STEPS + PROBE_STEPS):
        tick = time.perf_counter()
        with autocast(device, precision):
            loss, _ = model(ids[:, :-1], None, targets=ids[:, 1:])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if step >= WARMUP_STEPS:
            times.append(time.perf_counter() - tick)
    seconds = sorted(times)[len(times) // 2]
    return data.batch_size * data.seq_length / seconds, count_parameters(model)


def choose_width(
    model: ModelConfig, data: DataConfig, train: TrainConfig, seconds: float, device
) -> list[str]:
    """Set ``model.hidden_size`` (and ``train.lr`` for wide models) for a ``seconds`` budget;
    returns the lines that say what was measured and chosen."""
    chosen, lines = WIDTHS[0], []
    for width in WIDTHS:
        sized = replace(model, hidden_size=width)
        rate, parameters = probe(sized, data, device, train.precision, train)
        ratio = rate * seconds / parameters
        lines.append(
            f"{model.num_layers}x{width}: {rate:,.0f} tokens/s, {parameters:,} parameters,"
            f" {ratio:.1f} tokens per parameter in {seconds:.0f} s"
        )
        if ratio < TOKENS_PER_PARAMETER:
            break
        chosen = width
    model.hidden_size = chosen
    if chosen >= WIDE_FROM:
        train.lr = min(train.lr, WIDE_LR)
    lines.append(
        f"--size auto: {model.num_layers}x{chosen} (the widest with at least "
        f"{TOKENS_PER_PARAMETER:g} tokens per parameter), learning rate {train.lr:g}"
    )
    return lines


def auto_size(
    model: ModelConfig, data: DataConfig, train: TrainConfig, device, distributed: bool
) -> list[str]:
    """``--size auto`` at the start of a new run: checks it can apply, then chooses."""
    if distributed:
        raise RecurError("--size auto measures one process; under torchrun give --hidden-size")
    if not train.time or train.steps is not None or train.epochs is not None:
        raise RecurError("--size auto needs a --time budget (and no --steps or --epochs)")
    return choose_width(model, data, train, parse_duration(train.time), device)
