"""The GPU check's report: its results as the ``gpu`` entry of benchmarks/results.json and as the
GPU section of docs/benchmarks.md (between the ``gpu:start`` and ``gpu:end`` markers, added at
the page's end the first time), each replaced whole on every run and marked with the GPU's name.
"""

from __future__ import annotations

import json
from pathlib import Path

MARKERS = ("<!-- gpu:start -->", "<!-- gpu:end -->")


def write_results(results: dict, path: Path) -> None:
    """``results`` as the ``gpu`` entry of the JSON file at ``path``; other entries stay."""
    saved = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    saved["gpu"] = results
    path.write_text(json.dumps(saved, indent=2) + "\n", encoding="utf-8")


def write_docs(results: dict, page: Path) -> None:
    """The GPU section of ``page``: replaced between the markers, appended when they are absent."""
    start, end = MARKERS
    text = page.read_text(encoding="utf-8") if page.is_file() else "# Benchmarks\n"
    section = start + "\n" + table(results) + "\n" + end
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## On a GPU\n\n" + section + "\n"
    page.write_text(text, encoding="utf-8")


def table(results: dict) -> str:
    machine, rates = results["machine"], results["matmul_tflops"]
    seq = next((row["seq_length"] for row in results["training"] if "seq_length" in row), 128)
    width = next((row["hidden_size"] for row in results["sampling"]), 512)
    dry = " (a `--dry-run` on the CPU at toy sizes: not GPU figures)" if results["dry_run"] else ""
    lines = [
        f"Written by `python -m benchmarks.gpu` on {results['date']} on **{machine['device']}**"
        f"{dry}; torch {machine['torch']}, CUDA {machine['cuda']}, cuDNN {machine['cudnn']}. "
        "Matmul ceilings measured in the same run: "
        + ", ".join(f"{name} {rate:,.1f} TFLOP/s" for name, rate in rates.items())
        + f". CUDA tests (`pytest -m cuda`): {results['tests']['summary']}.",
        "",
        f"| training (E=128, T={seq}, 2 layers) | precision | tokens/s | TFLOP/s | MFU |",
        "|---|---|---|---|---|",
    ]
    for row in results["training"]:
        if "error" in row:
            lines.append(f"| {row['cell'].upper()} 2×{row['hidden_size']} | | {row['error']} | | |")
            continue
        lines.append(
            f"| {row['cell'].upper()} 2×{row['hidden_size']}, batch {row['batch_size']} "
            f"| {row['precision']} | {row['tokens_per_second']:,.0f} | {row['tflops']:.1f} "
            f"| {row['mfu']:.1%} |"
        )
    lines += ["", "| time to validation loss 1.45, tiny Shakespeare | reached after | "]
    lines[-1] += "best validation loss | training tokens/s | command |"
    lines.append("|---|---|---|---|---|")
    for row in results["quality"]:
        reached = "not reached" if row["seconds"] is None else f"{row['seconds']:.1f} s"
        reached = f"failed: {row['error']}" if "error" in row else reached
        lines.append(
            f"| {row['name']} | {reached} | {row.get('best', float('nan')):.4f} "
            f"| {row.get('tokens_per_second', 0):,.0f} | `{row['command']}` |"
        )
    lines += ["", f"| sampling (2×{width} LSTM, character vocabulary) | tokens/s |", "|---|---|"]
    for row in results["sampling"]:
        lines.append(f"| {row['what']} | {row['tokens_per_second']:,.0f} |")
    lines += ["", "Bars of issue 29: " + "; ".join(shown_bar(b) for b in results["bars"]) + "."]
    return "\n".join(lines)


def bars(results: dict) -> list[dict]:
    """The measured bars of issue 29: each with what it is, the figure, the bar, and whether met."""
    lstm = [
        row["tokens_per_second"]
        for row in results["training"]
        if row.get("cell") == "lstm" and row.get("hidden_size") == 512 and "error" not in row
    ]
    reached = [row["seconds"] for row in results["quality"] if row["seconds"] is not None]
    sampled = [row["tokens_per_second"] for row in results["sampling"] if row["streams"] == 1024]
    fastest, fastest_sampling = max(lstm, default=0.0), max(sampled, default=0.0)
    first = min(reached, default=None)
    return [
        {
            "what": "2×512 LSTM training, tokens/s",
            "figure": f"{fastest:,.0f}",
            "bar": "2,000,000",
            "met": fastest >= 2e6,
        },
        {
            "what": "training time to validation loss 1.45",
            "figure": "not reached" if first is None else f"{first:.1f} s",
            "bar": "60 s",
            "met": first is not None and first <= 60,
        },
        {
            "what": "sampling at 1,024 streams, tokens/s",
            "figure": f"{fastest_sampling:,.0f}",
            "bar": "1,000,000",
            "met": fastest_sampling >= 1e6,
        },
    ]


def shown_bar(bar: dict) -> str:
    return f"{bar['what']} {bar['figure']} (bar {bar['bar']}): {'met' if bar['met'] else 'NOT met'}"
