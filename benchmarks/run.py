"""``make bench``: measure this machine and write benchmarks/results.json + docs/benchmarks.md.

    python -m benchmarks.run            # everything (about 65 minutes: the quality runs and
                                        # benchmarks.words' PTB / WikiText-2 table dominate)
    python -m benchmarks.run --quick    # speed only (about 2 minutes)
    python -m benchmarks.run --quality  # the tiny Shakespeare rows only (about 16 minutes)

(``make bench ARGS=--quick`` and ``make bench ARGS=--quality`` run the same.)

Quality runs need ../shared/data/tinyshakespeare and are skipped, with a message, without it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

from recur.config.options import ModelConfig
from recur.generate.loop import sampling_threads
from recur.kernels.allocator import keep_freed_memory

from . import speed, words
from .report import table, write_docs

ROOT = Path(__file__).resolve().parent.parent
SHAKESPEARE = ROOT.parent / "shared" / "data" / "tinyshakespeare" / "input.txt"
RESULTS = ROOT / "benchmarks" / "results.json"
OUT = ROOT / "benchmarks" / "out"
BUDGETS = ("80s", "3m", "10m")


def quality_run(budget: str, threads: int) -> dict | None:
    if not SHAKESPEARE.is_file():
        print(f"skipping quality at {budget}: {SHAKESPEARE} is absent", file=sys.stderr)
        return None
    OUT.mkdir(parents=True, exist_ok=True)
    run = OUT / f"shakespeare-{budget}"
    subprocess.run(["rm", "-rf", str(run)], check=True)
    train = [
        sys.executable,
        "-m",
        "recur",
        "train",
        str(SHAKESPEARE),
        "--time",
        budget,
        "--seed",
        "0",
        "--out",
        str(run),
        "--threads",
        str(threads),
        "--samples",
        "0",
    ]
    subprocess.run(train, check=True)
    text = SHAKESPEARE.read_text(encoding="utf-8")
    validation = OUT / "shakespeare-valid.txt"
    validation.write_text(text[int(len(text) * 0.9) :], encoding="utf-8")
    evaluate = [
        sys.executable,
        "-m",
        "recur",
        "evaluate",
        str(run / "best"),
        str(validation),
        "--json",
    ]
    result = json.loads(subprocess.run(evaluate, check=True, capture_output=True, text=True).stdout)
    shown = [os.path.relpath(a, ROOT) if a.startswith("/") else a for a in train[3:]]
    return {"budget": budget, "command": " ".join(["recur"] + shown), **result}


def big_file_run(threads: int, size_mb: int = 1024) -> dict:
    """Peak resident memory of training on a ``size_mb`` text file, and the token-cache speed."""
    import tempfile

    with tempfile.TemporaryDirectory(dir=OUT.parent) as folder:
        path = Path(folder) / "big.txt"
        piece = (
            SHAKESPEARE.read_text()
            if SHAKESPEARE.is_file()
            else "All the world's a stage, and all the men and women merely players.\n" * 5000
        )
        with open(path, "w", encoding="utf-8") as handle:
            written = 0
            while written < size_mb * 2**20:
                handle.write(piece)
                written += len(piece)
        command = [
            sys.executable,
            "-m",
            "recur",
            "train",
            str(path),
            "--steps",
            "30",
            "--eval-every",
            "1000",
            "--max-val-tokens",
            "20000",
            "--samples",
            "0",
            "--out",
            str(Path(folder) / "run"),
            "--threads",
            str(threads),
        ]
        started = time.perf_counter()
        log = subprocess.run(command, check=True, capture_output=True, text=True).stderr
        seconds = time.perf_counter() - started
    prepared = float(log.split("data read and tokenized in ")[1].split(" s")[0])
    # The child's own VmHWM: ru_maxrss of children would count this (large) process's pages
    # that the fork copied before exec.
    peak = float(log.split("peak memory ")[1].split(" MB")[0].replace(",", ""))
    return {
        "megabytes": written / 2**20,
        "peak_rss_mb": peak,
        "cache_seconds": prepared,
        "cache_mb_per_second": written / 2**20 / prepared,
        "total_seconds": seconds,
        "command": " ".join(["recur"] + command[3:]),
    }


def sampling_rows(threads: int) -> list:
    """One-stream and 64-stream sampling of a 2x512 LSTM at each precision."""
    rows = []
    for precision in ("fp32", "bf16", "int8"):
        for streams in (1, 64):
            # the threads `recur generate` takes for this many streams (one for a few)
            used = sampling_threads(streams, threads)
            torch.set_num_threads(used)
            rate = speed.sampling_throughput(
                "lstm", 512, streams, precision=precision, steps=1000 if streams == 1 else 200
            )
            torch.set_num_threads(threads)
            rows.append(
                {
                    "cell": "lstm",
                    "hidden_size": 512,
                    "streams": streams,
                    "precision": precision,
                    "tokens_per_second": rate,
                    "threads": used,
                }
            )
            print(
                f"sample lstm 2x512, {streams} streams, {precision}: {rate:,.0f} tok/s",
                file=sys.stderr,
            )
    return rows


def training_rows(peak_gflops: float) -> list:
    """Training throughput and MFU: the issue's grid, then the default character model (2x256
    GRU, batch 32, 64-step chunks)."""
    rows = []
    shapes = [
        (cell, hidden_size, batch_size, 128)
        for cell in ("lstm", "gru")
        for hidden_size in (256, 512)
        for batch_size in (64, 128)
    ] + [("gru", 256, 32, 64)]
    for cell, hidden_size, batch_size, seq_length in shapes:
        row = speed.training_throughput(cell, hidden_size, batch_size, seq_length)
        row["mfu"] = row["gflops"] / peak_gflops
        rows.append(row)
        print(
            f"train {cell} 2x{hidden_size} B={batch_size} T={seq_length}: "
            f"{row['tokens_per_second']:,.0f} tok/s, MFU {row['mfu']:.0%}",
            file=sys.stderr,
        )
    return rows


def measure(quick: bool, threads: int) -> dict:
    torch.set_num_threads(threads)
    results = {
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "threads": threads,
            "torch": torch.__version__,
        }
    }
    results["matmul_by_library"] = speed.matmul_gflops()
    results["matmul_gflops"] = max(results["matmul_by_library"].values())
    print(
        "fp32 matmul ceiling: "
        + ", ".join(f"{name} {rate:.0f}" for name, rate in results["matmul_by_library"].items())
        + " GFLOP/s",
        file=sys.stderr,
    )
    # sampling first, with the allocator as `recur generate` leaves it (keep_freed_memory made
    # no consistent difference to sampling when alternated in one process; it does to training)
    results["sampling"] = sampling_rows(threads)
    keep_freed_memory()  # as `recur train` does on CPU
    results["training"] = training_rows(results["matmul_gflops"])
    results["training_processes"] = []
    if threads > 1:  # the same cores as single-thread torchrun ranks (DDP over gloo)
        from . import ddp_speed

        for cell in ("lstm", "gru"):
            rate = ddp_speed.measure(cell, 512, 128, processes=threads)
            config = ModelConfig(
                cell=cell, hidden_size=512, embedding_size=128, num_layers=2, vocab_size=65
            )
            gflops = 3 * speed.forward_flops_per_token(config) * rate / 1e9
            row = {
                "cell": cell,
                "hidden_size": 512,
                "batch_size": 128,
                "processes": threads,
                "tokens_per_second": rate,
                "gflops": gflops,
                "mfu": gflops / results["matmul_gflops"],
            }
            results["training_processes"].append(row)
            print(
                f"train {cell} 2x512 B=128 as {threads} single-thread processes: "
                f"{rate:,.0f} tok/s, MFU {row['mfu']:.0%}",
                file=sys.stderr,
            )
    results["big_file"] = big_file_run(threads)
    print(
        f"1 GB file: peak RSS {results['big_file']['peak_rss_mb']:.0f} MB, token cache "
        f"{results['big_file']['cache_mb_per_second']:.0f} MB/s",
        file=sys.stderr,
    )
    if quick:  # keep the quality rows of the last full run, if any
        results["quality"] = previous_results().get("quality", [])
    else:
        results["quality"] = [r for r in (quality_run(b, threads) for b in BUDGETS) if r]
    return results


def previous_results() -> dict:
    """The results.json of the last run ({} when there is none)."""
    return json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}


def measure_quality(threads: int) -> dict:
    """The last run's results (speed rows kept) with new quality rows."""
    results = previous_results()
    if not results:
        raise SystemExit(
            f"--quality keeps the speed rows of {RESULTS}, which is absent: "
            "run the whole benchmark first"
        )
    results["quality"] = [r for r in (quality_run(b, threads) for b in BUDGETS) if r]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="speed only, no quality runs")
    parser.add_argument(
        "--quality",
        action="store_true",
        help="quality runs only, keeping the speed rows of the last run",
    )
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.quick and args.quality:
        parser.error("--quick and --quality exclude each other")
    results = measure_quality(args.threads) if args.quality else measure(args.quick, args.threads)
    RESULTS.write_text(json.dumps(results, indent=2))
    write_docs(results)
    print(table(results))
    if not (args.quick or args.quality):  # 10 CPU-minutes per recipe and corpus
        words.main(["--threads", str(args.threads)])


if __name__ == "__main__":
    main()
