"""The benchmark page: results.json -> the table between the markers of docs/benchmarks.md,
with the date and the processor it was measured on."""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def table(results: dict) -> str:
    peak = results["matmul_gflops"]
    threads = results["machine"]["threads"]
    lines = [
        f"Measured by `make bench` ({threads} thread{'s' if threads != 1 else ''}, torch "
        f"{results['machine']['torch']}); fp32 matmul ceiling **{peak:.0f} GFLOP/s** "
        "(square products of 512, 1024 and 2048, best of 15 each, the faster library: "
        + ", ".join(
            f"{name} {rate:.0f}" for name, rate in results.get("matmul_by_library", {}).items()
        )
        + ").",
        "",
        "| training (E=128, T=128) | tokens/s | GFLOP/s | MFU |",
        "|---|---|---|---|",
    ]
    for row in results["training"]:
        chunks = row.get("seq_length", 128)
        shape = "" if chunks == 128 else f", T={chunks} (the default character model)"
        lines.append(
            f"| {row['cell'].upper()} 2×{row['hidden_size']}, batch {row['batch_size']}"
            f"{shape} | {row['tokens_per_second']:,.0f} | {row['gflops']:.0f} | "
            f"{row['mfu']:.0%} |"
        )
    for row in results.get("training_processes", []):
        lines.append(
            f"| {row['cell'].upper()} 2×{row['hidden_size']}, batch {row['batch_size']} "
            f"as {row['processes']} single-thread processes (`torchrun "
            f"--nproc_per_node={row['processes']} ... --threads 1`) "
            f"| {row['tokens_per_second']:,.0f} | {row['gflops']:.0f} | {row['mfu']:.0%} |"
        )
    lines += [
        "",
        "| sampling (`generate()` as `recur generate --precision P` runs it, past its start-up) "
        "| tokens/s |",
        "|---|---|",
    ]
    for row in results["sampling"]:
        threads = f", {row['threads']} thread" if row.get("threads") == 1 else ""
        lines.append(
            f"| {row['cell'].upper()} 2×{row['hidden_size']}, {row['streams']} "
            f"stream{'s' if row['streams'] > 1 else ''}, {row.get('precision', 'fp32')}"
            f"{threads} "
            f"| {row['tokens_per_second']:,.0f} |"
        )
    big = results.get("big_file")
    if big:
        lines += [
            "",
            f"Training on a {big['megabytes']:,.0f} MB text file (30 steps): peak resident "
            f"memory **{big['peak_rss_mb']:,.0f} MB**; building the token cache "
            f"{big['cache_seconds']:.1f} s (**{big['cache_mb_per_second']:.0f} MB/s**).",
        ]
    if results["quality"]:
        lines += [
            "",
            "| tiny Shakespeare, default model | validation loss (full stream) | "
            "bits/char | command |",
            "|---|---|---|---|",
        ]
        for row in results["quality"]:
            lines.append(
                f"| {row['budget']} | {row['loss']:.4f} | {row['bits_per_char']:.3f} "
                f"| `{row['command']}` |"
            )
    return "\n".join(lines)


def cpu_name() -> str:
    """The processor's model name from /proc/cpuinfo, else what ``platform`` says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


BENCHMARKS_PAGE = ROOT / "docs" / "benchmarks.md"
MARKERS = ("<!-- bench:start -->", "<!-- bench:end -->")


def write_docs(results: dict, page: Path = BENCHMARKS_PAGE) -> None:
    """Put ``table(results)``, with the date and host it was measured on, between the markers
    of docs/benchmarks.md (the rest of the page is left as it is)."""
    start, end = MARKERS
    text = page.read_text(encoding="utf-8") if page.is_file() else ""
    if start not in text or end not in text:
        print(
            f"not written: {os.path.relpath(page, ROOT)} has no {start} ... {end} markers",
            file=sys.stderr,
        )
        return
    stamp = (
        f"Table written by `python -m benchmarks.run` on {time.strftime('%Y-%m-%d %H:%M')}"
        f" ({cpu_name()}, {os.cpu_count()} cores; `--quick` keeps the last full run's "
        "quality rows, `--quality` its speed rows)."
    )
    head, rest = text.split(start, 1)
    text = (
        head + start + "\n" + stamp + "\n\n" + table(results) + "\n" + end + rest.split(end, 1)[1]
    )
    page.write_text(text, encoding="utf-8")
    print(f"wrote {os.path.relpath(page, ROOT)}", file=sys.stderr)
