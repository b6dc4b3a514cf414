"""The GPU check's speed measurements (``python -m benchmarks.gpu``): matmul ceilings, training
tokens/s and model FLOP utilisation per cell, width and batch, and sampling tokens/s.

Every timing is taken to the end of the device's work (``synchronize``), after warm-up steps.
On the CPU (``--dry-run``) the same code runs at toy sizes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time

import torch

from benchmarks.speed import sampling_run, toy_char_model
from recur.config.options import CELLS, ModelConfig, TrainConfig
from recur.generate.stepper import Stepper
from recur.models.language_model import build_model
from recur.training.optimizer import autocast, build_optimizer


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(function, device: torch.device, repeats: int, warmup: int = 1) -> float:
    """Best seconds of ``repeats`` calls after ``warmup`` calls (a ceiling: noise only slows)."""
    for _ in range(warmup):
        function()
    sync(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def matmul_rates(device: torch.device, size: int, repeats: int = 10) -> dict:
    """TFLOP/s of square ``size`` products in bf16, TF32 and full fp32 on ``device``."""
    rates = {}
    kinds = {"bf16": (torch.bfloat16, "tf32"), "tf32": (torch.float32, "tf32")}
    kinds["fp32"] = (torch.float32, "ieee")
    for name, (dtype, precision) in kinds.items():
        if device.type != "cuda" and name == "tf32":
            continue  # a CPU has no TF32
        a = torch.randn(size, size, device=device).to(dtype)
        b = torch.randn(size, size, device=device).to(dtype)
        with matmul_precision(precision):
            seconds = timed(lambda x=a, y=b: x @ y, device, repeats, warmup=3)
        rates[name] = 2 * size**3 / seconds / 1e12
    return rates


@contextlib.contextmanager
def matmul_precision(precision: str):
    """fp32 products as TF32 (``tf32``) or in full (``ieee``) inside the block."""
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):  # newer PyTorch
        before = matmul.fp32_precision
        matmul.fp32_precision = precision
        try:
            yield
        finally:
            matmul.fp32_precision = before
        return
    before_tf32 = matmul.allow_tf32
    matmul.allow_tf32 = precision == "tf32"
    try:
        yield
    finally:
        matmul.allow_tf32 = before_tf32


def cells() -> tuple:
    """Every cell the model config offers (its --cell choices), new cells included."""
    field = next(f for f in dataclasses.fields(ModelConfig) if f.name == "cell")
    return tuple(field.metadata.get("choices") or CELLS)


def forward_flops_per_token(model: torch.nn.Module) -> float:
    """2 x the multiply-adds of one token's forward pass: every weight matrix is used once per
    token (the embedding is a lookup, no product), whatever the cell; a tied decoder counts."""
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    unique = {id(p): p for p in model.parameters()}.values()
    flops = sum(2 * p.numel() for p in unique if p.dim() >= 2 and id(p) not in embeddings)
    decoder = getattr(model, "decoder", None)
    if isinstance(decoder, torch.nn.Linear) and id(decoder.weight) in embeddings:
        flops += 2 * decoder.weight.numel()
    return float(flops)


def training_rate(
    cell: str,
    hidden: int,
    batch: int,
    device,
    precision: str,
    steps: int,
    seq: int = 128,
    dropout: float = 0.0,
    reseed: bool = False,
) -> dict:
    """Tokens/s of the trainer's step (autocast, fused AdamW, clipping, carried state) on random
    ids of a 65-character vocabulary, and the model FLOP/s (backward = twice the forward).
    ``reseed``: cuDNN's dropout reseeded before each step, as the trainer does for exact resume
    (trainer.reseeds_cudnn_dropout); its cost is the difference to the row without."""
    vocab = 65
    config = ModelConfig(
        cell=cell,
        hidden_size=hidden,
        embedding_size=128,
        num_layers=2,
        vocab_size=vocab,
        dropout=dropout,
    )
    torch.manual_seed(0)
    model = build_model(config).to(device)
    optimizer = build_optimizer(model, TrainConfig(lr=1e-3))
    ids = torch.randint(0, vocab, (batch, seq + 1), device=device)
    state: list = [None]

    def step():
        if reseed:
            torch.cuda.set_rng_state(torch.cuda.get_rng_state(device), device)
        hidden_state = state[0] and tuple(h.detach() for h in state[0])
        with autocast(device, precision):
            loss, state[0] = model(ids[:, :-1], hidden_state, targets=ids[:, 1:])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    def run():
        for _ in range(steps):
            step()

    seconds = timed(run, device, repeats=2, warmup=1)
    rate = steps * batch * seq / seconds
    flops = 3 * forward_flops_per_token(model) * rate
    return {
        "cell": cell,
        "hidden_size": hidden,
        "batch_size": batch,
        "seq_length": seq,
        "precision": precision
        + (f", dropout {dropout}" if dropout else "")
        + (", cuDNN reseeded" if reseed else ""),
        "tokens_per_second": rate,
        "tflops": flops / 1e12,
    }


def toy_model(hidden: int, device, cell: str = "lstm"):
    torch.manual_seed(0)
    return toy_char_model(cell, hidden, device=device)


def sampling_rate(hidden: int, streams: int, device, steps: int, precision: str) -> float:
    """Tokens/s of ``generate()`` (what ``recur generate`` runs) past its start-up: ``steps``
    more tokens per stream over the extra time they take."""
    model, tokenizer = toy_model(hidden, device)
    run = sampling_run(model, tokenizer, streams, precision, device)
    short = timed(run(steps // 4), device, repeats=3)
    long = timed(run(steps + steps // 4), device, repeats=3)
    return steps * streams / (long - short) if long > short else float("nan")


def step_rates(hidden: int, streams: int, device, steps: int) -> dict:
    """Tokens/s of the bare one-token step (greedy draw, fed back), run plain and, on a GPU,
    captured once as a CUDA graph and replayed (launch costs paid once per step, not per op)."""
    model, _ = toy_model(hidden, device)
    stepper = Stepper(model, "fp32")
    tokens = torch.zeros(streams, dtype=torch.long, device=device)
    layers = stepper.to_layers(model.initial_state(streams, device))

    def plain():
        nonlocal tokens, layers
        for _ in range(steps):
            logits, layers = stepper(tokens, layers)
            tokens = logits.argmax(-1)

    rates = {"plain": steps * streams / timed(plain, device, repeats=2)}
    if device.type != "cuda":
        return rates
    try:
        rates["cuda_graph"] = graphed_rate(stepper, tokens, layers, steps, device)
    except Exception as error:  # a step that cannot be captured: say why, keep the rest
        rates["cuda_graph_error"] = f"{type(error).__name__}: {error}"[:300]
    return rates


def graphed_rate(stepper: Stepper, tokens, layers, steps: int, device) -> float:
    tokens, layers = tokens.clone(), [t.clone() for t in layers]
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):  # warm up off the default stream, as capture wants
        for _ in range(3):
            logits, out = stepper(tokens, layers)
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        logits, out = stepper(tokens, layers)
        drawn = logits.argmax(-1)

    def replay():
        for _ in range(steps):
            graph.replay()
            tokens.copy_(drawn)
            for kept, new in zip(layers, out):
                kept.copy_(new)

    return steps * len(tokens) / timed(replay, device, repeats=2)
