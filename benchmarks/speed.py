"""Speed measurements: matmul ceiling, training throughput with model FLOP utilisation, sampling.

Each figure is the median of several repeats; the machine is shared and noisy.
"""

from __future__ import annotations

import statistics
import time

import torch
import torch.nn.functional as F

from recur.config.options import ModelConfig
from recur.generate.loop import generate
from recur.models.language_model import build_model
from recur.tokenizers import CharTokenizer
from recur.tokenizers.base import SPECIALS

GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def median_time(function, repeats: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_gflops(sizes: tuple = (512, 1024, 2048), repeats: int = 15) -> dict:
    """The fp32 matmul ceiling: the best rate of ``repeats`` square products of each size (a
    ceiling, so the best, not the median: a shared machine only ever makes it slower; several
    sizes, because which one runs fastest differs between CPUs and cache sizes), through each
    library PyTorch ships: MKL (``torch.mm``) and oneDNN (``recur.kernels.onednn.linear``; also
    ``nn.LSTM``'s library). On an AVX-512 AMD EPYC MKL took its AVX2 path, 175-192 GFLOP/s
    against oneDNN's 401-425, so the ceiling is the faster of the two."""
    from recur.kernels.onednn import kernel, linear

    products = {"mkl": torch.mm}
    if kernel() is not None:
        products["onednn"] = linear  # a @ b.T: the same FLOPs
    rates = {}
    for name, product in products.items():
        for size in sizes:
            a, b = torch.randn(size, size), torch.randn(size, size)
            product(a, b)

            def timed(p=product, x=a, y=b):  # defaults bind this loop's values
                return p(x, y)

            best = min(median_time(timed, 1, warmup=0) for _ in range(repeats))
            rates[name] = max(rates.get(name, 0.0), 2 * size**3 / best / 1e9)
    return rates


def forward_flops_per_token(config: ModelConfig) -> float:
    """Multiply-adds x 2 of the recurrent layers and the decoder for one token."""
    gates, flops, width = GATES[config.cell], 0.0, config.embedding_size
    for _ in range(config.num_layers):
        flops += 2 * gates * config.hidden_size * (width + config.hidden_size)
        width = config.hidden_size
    return flops + 2 * config.hidden_size * config.vocab_size


def training_throughput(
    cell: str,
    hidden_size: int,
    batch_size: int,
    seq_length: int = 128,
    vocab_size: int = 65,
    steps: int = 6,
    repeats: int = 3,
) -> dict:
    config = ModelConfig(
        cell=cell, hidden_size=hidden_size, embedding_size=128, num_layers=2, vocab_size=vocab_size
    )
    torch.manual_seed(0)
    model = build_model(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randint(0, vocab_size, (batch_size, seq_length))
    y = torch.randint(0, vocab_size, (batch_size, seq_length))

    def run():
        state = None
        for _ in range(steps):
            if state is not None:
                state = tuple(s.detach() for s in state)
            logits, state = model(x, state)
            loss = F.cross_entropy(logits.reshape(-1, vocab_size), y.reshape(-1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()

    seconds = median_time(run, repeats)
    tokens_per_second = steps * batch_size * seq_length / seconds
    # Backward costs about twice the forward: 3x forward FLOPs per trained token.
    gflops = 3 * forward_flops_per_token(config) * tokens_per_second / 1e9
    return {
        "cell": cell,
        "hidden_size": hidden_size,
        "batch_size": batch_size,
        "seq_length": seq_length,
        "tokens_per_second": tokens_per_second,
        "gflops": gflops,
    }


def toy_char_model(cell: str, hidden_size: int, vocab_size: int = 65, device="cpu"):
    """An untrained 2-layer character model of ``vocab_size`` ids (embedding 128) and its
    tokenizer: a step's cost does not depend on the weights."""
    characters = "".join(chr(33 + i) for i in range(vocab_size - len(SPECIALS)))
    tokenizer = CharTokenizer().fit([characters])
    config = ModelConfig(
        cell=cell,
        hidden_size=hidden_size,
        embedding_size=128,
        num_layers=2,
        vocab_size=tokenizer.vocab_size,
    )
    return build_model(config).to(device).eval(), tokenizer


def sampling_run(model, tokenizer, streams: int, precision: str, device="cpu"):
    """``run(length)``: a call that samples ``length`` tokens in each of ``streams`` streams
    through ``generate`` (prime "!", temperature 0.8, seed 0), to be timed."""

    def run(length: int):
        return lambda: generate(
            model,
            tokenizer,
            prime="!",
            length=length,
            num_samples=streams,
            temperature=0.8,
            seed=0,
            precision=precision,
            device=device,
        )

    return run


def sampling_throughput(
    cell: str,
    hidden_size: int,
    streams: int,
    steps: int = 1000,
    vocab_size: int = 65,
    repeats: int = 3,
    precision: str = "fp32",
) -> float:
    """Tokens per second of ``recur.generate.loop.generate`` (what ``recur generate`` runs: the
    stepper built in ``precision``, the prime fed, tokens drawn at temperature 0.8, decoded) for a
    character model of ``vocab_size`` ids, past its start-up: ``steps`` more tokens per stream
    divided by the extra time they take (medians of ``repeats`` runs of each length). The
    start-up (building and compiling the int8 stepper, about 0.1 s) is paid once per call."""
    model, tokenizer = toy_char_model(cell, hidden_size, vocab_size)
    run = sampling_run(model, tokenizer, streams, precision)
    short, long = (
        median_time(run(steps // 4), repeats),
        median_time(run(steps + steps // 4), repeats),
    )
    return steps * streams / (long - short)
