"""Sampling speed of an exported graph through onnxruntime (fp32 and int8 weights) against
recur's own one-token step (fp32, bf16, int8), at 1 and 64 streams, and the bytes of each:

    python -m benchmarks.export [--run RUN] [--length 400] [--rounds 3] [--threads 1] [--write]

Every variant samples through the same ``generate()`` loop (``recur generate RUN`` and ``recur
generate EXPORT_DIR``), so only the step differs. The variants alternate within each round (a
slow stretch of a shared host hits them all) and the medians are printed; ``--write`` puts the
table in docs/benchmarks.md between the ``export:start`` and ``export:end`` markers. Without
``--run`` the model is the default character model's shape (GRU 2x256, 65 characters) with
random weights, which sample as fast as trained ones. One thread by default (``--threads``): on a
shared host two-thread runs collapse whenever another process holds a core. Takes a few minutes.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import torch

from recur.config.options import ModelConfig, SampleConfig
from recur.export import graph, runtime
from recur.export.quantize import quantize
from recur.generate.loop import generate
from recur.models.language_model import build_model
from recur.runs.checkpoint import load
from recur.tokenizers.char import CharTokenizer

PAGE = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
MARKERS = ("<!-- export:start -->", "<!-- export:end -->")
STREAMS = (1, 64)


def default_model():
    symbols = sorted(set("\n !$&',-.3:;?abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    tokenizer = CharTokenizer().fit(["".join(symbols)])
    config = ModelConfig(cell="gru", num_layers=2, hidden_size=256, embedding_size=128)
    config.vocab_size = tokenizer.vocab_size
    torch.manual_seed(0)
    return build_model(config).eval(), tokenizer


def variants(model, folder: Path) -> dict:
    """name -> (model to sample with, precision, bytes on disk)."""
    torch_bytes = sum(p.numel() * 4 for p in {id(p): p for p in model.parameters()}.values())
    graph.write_language_graph(model, folder / "fp32.onnx")
    quantize(folder / "fp32.onnx", folder / "int8.onnx")
    found = {f"recur {p}": (model, p, torch_bytes) for p in ("fp32", "bf16", "int8")}
    for name in ("fp32", "int8"):
        found[f"onnxruntime {name}"] = (folder / f"{name}.onnx", "fp32", 0)
    return found


def onnx_model(path: Path, threads: int):
    return runtime.OnnxLanguageModel(runtime.session(path, threads), {})


def seconds(model, tokenizer, streams: int, length: int, precision: str) -> float:
    sample = SampleConfig(length=length, num_samples=streams, precision=precision, seed=0)
    begin = time.perf_counter()
    generate(model, tokenizer, sample)
    return time.perf_counter() - begin


def measure(found: dict, tokenizer, length: int, rounds: int, threads: int) -> dict:
    """Tokens/s of each (variant, streams) past the start-up (building the step, feeding the
    start): the ``length - length // 4`` tokens per stream a run of ``length`` draws more than
    a run of ``length // 4``, over the difference of their median times. Variants alternate
    within each round."""
    torch.set_num_threads(threads)
    times: dict = {(name, s, n): [] for name in found for s in STREAMS for n in (1, 4)}
    loaded = {
        name: onnx_model(entry[0], threads)
        for name, entry in found.items()
        if isinstance(entry[0], Path)
    }
    for round_index in range(rounds + 1):  # round 0 warms every variant up, uncounted
        order = list(times)
        order = order[round_index % len(order) :] + order[: round_index % len(order)]
        for name, streams, quarters in order:
            model = loaded.get(name, found[name][0])
            spent = seconds(model, tokenizer, streams, length * quarters // 4, found[name][1])
            if round_index:
                times[(name, streams, quarters)].append(spent)
    rates = {}
    for name in found:
        for streams in STREAMS:
            short, long = (statistics.median(times[(name, streams, n)]) for n in (1, 4))
            extra = length - length // 4
            rates[(name, streams)] = streams * extra / max(long - short, 1e-9)
    return rates


def table(
    found: dict, rates: dict, description: str, length: int, rounds: int, threads: int
) -> str:
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [
        f"Written by `python -m benchmarks.export --write` on {when}: {description}; "
        f"tokens/s past the start-up (runs of {length // 4} and {length} tokens per stream, "
        f"medians of {rounds} alternating rounds), {threads} thread(s) throughout. The host was "
        f"shared with other engineers' jobs (load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores at the end), so compare rows "
        "with each other, not with other tables.",
        "",
        "bytes: the graph file for onnxruntime; for recur, the run's fp32 weights "
        "(model.safetensors): bf16 and int8 are made from them when sampling starts.",
        "",
        "| sampling with | bytes | tokens/s, 1 stream | tokens/s, 64 streams |",
        "|---|---|---|---|",
    ]
    for name, (_, _, size) in found.items():
        one, many = rates[(name, 1)], rates[(name, 64)]
        lines.append(f"| {name} | {size / 1e6:.2f} MB | {one:,.0f} | {many:,.0f} |")
    return "\n".join(lines)


def write(text: str) -> None:
    page = PAGE.read_text(encoding="utf-8")
    start, end = MARKERS
    block = f"{start}\n{text}\n{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    PAGE.write_text(pattern.sub(lambda _: block, page), encoding="utf-8")


def measured(run: str | None, args) -> str:
    """The table of one model: a run, or (None) the default character model's shape."""
    if run:
        bundle = load(run)
        model, tokenizer = bundle.model.eval(), bundle.tokenizer
        config = bundle.config["model"]
        description = (
            f"the run {Path(run).name} ({config['cell'].upper()} {config['num_layers']}x"
            f"{config['hidden_size']}, {tokenizer.vocab_size} tokens)"
        )
    else:
        model, tokenizer = default_model()
        description = "the default character model's shape (GRU 2x256, E=128, 65 characters)"
    with tempfile.TemporaryDirectory() as folder:
        found = variants(model, Path(folder))
        for name in ("fp32", "int8"):
            key = f"onnxruntime {name}"
            found[key] = (*found[key][:2], (Path(folder) / f"{name}.onnx").stat().st_size)
        rates = measure(found, tokenizer, args.length, args.rounds, args.threads)
    return table(found, rates, description, args.length, args.rounds, args.threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--run",
        nargs="*",
        help="trained runs, one table each (default: the default character model)",
    )
    parser.add_argument("--length", type=int, default=400, help="tokens per stream")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=1, help="threads (on a shared host, two collapse)"
    )
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    texts = [measured(run, args) for run in (args.run or [None])]
    text = "\n\n".join(texts)
    print(text)
    if args.write:
        write(text)


if __name__ == "__main__":
    main()
