"""The cells side by side: training tokens/s at several chunk lengths, and validation loss after
an equal number of steps (equal tokens), for the default GRU and the newer cells.

    python -m benchmarks.cells --speed                  # tokens/s at T = 64, 256, 1024 (minutes)
    python -m benchmarks.cells --quality 600   # tiny Shakespeare and PTB characters, 600 steps
    python -m benchmarks.cells --speed --quality 600 --cells gru,mingru

Speed: each round times every cell once, in turn (A, B, C, A, B, C, ...), so a shared host's load
falls on all of them alike; the figure is the median over the rounds, and each cell's ratio to the
first cell is the median of its per-round ratios. Quality: one run per cell and corpus, one after
the other, trained for the same ``--steps`` with the character defaults and the same seed; the
figure is the run's last validation (the last tenth of the text, 32 slices side by side).
Results go to benchmarks/cells.json and between the ``cells:start`` / ``cells:end`` markers of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from recur.config.options import ModelConfig
from recur.models.language_model import build_model
from recur.training.optimizer import autocast, resolve_precision

from .report import cpu_name

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "cells.json"
PAGE = ROOT / "docs" / "benchmarks.md"
OUT = ROOT / "benchmarks" / "out" / "cells"
MARKERS = ("<!-- cells:start -->", "<!-- cells:end -->")
CORPORA = {  # the training text; each run validates on its last tenth (--val-fraction 0.1)
    "tiny Shakespeare": DATA / "tinyshakespeare" / "input.txt",
    "PTB characters": DATA / "ptb" / "ptb.char.train.txt",
}


def cell_config(name: str, hidden_size: int) -> ModelConfig:
    """``mingru`` or ``mingru:ff0`` (``--feedforward 0``), either with ``@bf16`` or ``@fp32``
    (the precision): the default character model's shape (2 layers, embedding 128) with this
    cell."""
    cell, _, variant = name.split("@")[0].partition(":")
    extra = {"feedforward": int(variant[2:])} if variant.startswith("ff") else {}
    return ModelConfig(
        cell=cell, hidden_size=hidden_size, embedding_size=128, num_layers=2, vocab_size=67, **extra
    )


def precision_of(name: str, default: str) -> str:
    """The precision a cell name asks for (``gru@bf16``), else ``default``; ``auto`` resolved
    as ``recur train`` resolves it on this machine."""
    asked = name.partition("@")[2] or default
    tiny = build_model(cell_config(name, 8))  # the rule looks at the model's cell
    return resolve_precision(asked, torch.device("cpu"), tiny)


def trainer_step(config: ModelConfig, batch_size: int, seq_length: int, precision: str = "fp32"):
    """One AdamW training step of the model, as the trainer takes it (targets given, so the
    model computes the loss under the run's autocast; state carried and detached); returns a
    function running one."""
    torch.manual_seed(0)
    model = build_model(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randint(0, config.vocab_size, (batch_size, seq_length))
    y = torch.randint(0, config.vocab_size, (batch_size, seq_length))
    carried: list = [None]

    def step():
        state = None if carried[0] is None else tuple(s.detach() for s in carried[0])
        with autocast(torch.device("cpu"), precision):
            loss, carried[0] = model(x, state, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    return step


def speed(
    cells: list,
    lengths: list,
    hidden_size: int,
    batch_size: int,
    rounds: int,
    tokens: int,
    precision: str = "auto",
):
    """Tokens/s of each cell at each chunk length: the median of ``rounds`` alternating rounds,
    each timing at least one step and about ``tokens`` tokens."""
    rows = []
    for length in lengths:
        steps = max(1, tokens // (batch_size * length))
        runs = {
            c: trainer_step(
                cell_config(c, hidden_size), batch_size, length, precision_of(c, precision)
            )
            for c in cells
        }
        for run in runs.values():
            run()  # warm-up
        rates: dict = {c: [] for c in cells}
        for _ in range(rounds):
            for cell, run in runs.items():
                start = time.perf_counter()
                for _ in range(steps):
                    run()
                rates[cell].append(steps * batch_size * length / (time.perf_counter() - start))
        for cell in cells:
            ratios = [a / b for a, b in zip(rates[cell], rates[cells[0]])]
            rows.append(
                {
                    "cell": cell,
                    "precision": precision_of(cell, precision),
                    "seq_length": length,
                    "tokens_per_second": statistics.median(rates[cell]),
                    "ratio": statistics.median(ratios),
                    "rounds": rates[cell],
                }
            )
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def quality(cells: list, steps: int, threads: int, corpora: list) -> list:
    """Validation loss after ``steps`` steps of each cell on each corpus (one run at a time)."""
    rows = []
    for corpus, train in CORPORA.items():
        if corpus not in corpora:
            continue
        if not train.is_file():
            print(f"skipping {corpus}: {train} is absent", file=sys.stderr)
            continue
        for name in cells:
            rows.append(quality_run(corpus, train, name, steps, threads))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def quality_run(corpus: str, train: Path, name: str, steps: int, threads: int):
    """Train (or reuse a finished run of the same steps), then read the last validation of
    metrics.jsonl: the sliced validation (32 streams) that every cell gets alike, which takes
    seconds where ``recur evaluate``'s one stream takes minutes on a loaded host."""
    cell, _, variant = name.partition(":")
    run = OUT / f"{train.stem}-{name.replace(':', '-')}-{steps}"
    state = run / "last" / "trainer_state.json"
    seconds = None
    if not (state.is_file() and json.loads(state.read_text())["step"] == steps):
        subprocess.run(["rm", "-rf", str(run)], check=True)
        command = [sys.executable, "-m", "recur", "train", str(train), "--cell", cell]
        command += ["--feedforward", variant[2:]] if variant.startswith("ff") else []
        command += ["--steps", str(steps), "--seed", "0", "--samples", "0", "--quiet"]
        command += ["--threads", str(threads), "--out", str(run)]
        start = time.perf_counter()
        subprocess.run(command, check=True)
        seconds = time.perf_counter() - start
    evals = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    last = [r for r in evals if r["kind"] == "eval"][-1]
    return {
        "corpus": corpus,
        "cell": name,
        "steps": steps,
        "seconds": seconds if seconds is not None else last["time"],
        "loss": last["val_loss"],
        "bits_per_char": last["val_bits_per_char"],
    }


def merged_speed(earlier: list, rows: list, cells: list, cpu: str) -> list:
    """This run's speed rows (each stamped with ``cpu``), then the earlier rows of other cells
    measured on the same CPU: a ratio to the GRU means nothing beside another machine's GRU."""
    stamped = [{**row, "cpu": cpu} for row in rows]
    return stamped + [r for r in earlier if r["cell"] not in cells and r.get("cpu") == cpu]


def table(results: dict) -> str:
    lines = [f"Written by `python -m benchmarks.cells` on {results['date']} ({results['host']})."]
    speed_rows = results.get("speed", [])
    if speed_rows:
        lengths = sorted({r["seq_length"] for r in speed_rows})
        batch = results.get("batch_size", 32)
        lines += ["", f"| training tokens/s (× the GRU), 2×256, E=128, batch {batch} | "]
        lines[-1] += " | ".join(f"T={n}" for n in lengths) + " |"
        lines.append("|---|" + "---|" * len(lengths))
        for cell in dict.fromkeys(r["cell"] for r in speed_rows):
            found = {r["seq_length"]: r for r in speed_rows if r["cell"] == cell}
            shown = [
                f"{found[n]['tokens_per_second']:,.0f} ({found[n]['ratio']:.2f}×)"
                if n in found
                else "not run"
                for n in lengths
            ]
            lines.append(f"| {cell} | " + " | ".join(shown) + " |")
    if results.get("quality"):
        lines += [
            "",
            "| corpus | cell | steps | validation loss | bits/char | train seconds |",
            "|---|---|---|---|---|---|",
        ]
        for r in results["quality"]:
            lines.append(
                f"| {r['corpus']} | {r['cell']} | {r['steps']} | {r['loss']:.4f} | "
                f"{r.get('bits_per_char', 0):.3f} | {r['seconds']:.0f} |"
            )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", default="gru,mingru,minlstm,mogrifier")
    parser.add_argument("--speed", action="store_true", help="time training at --lengths")
    parser.add_argument("--lengths", default="64,256,1024")
    parser.add_argument("--quality", type=int, default=0, help="train this many steps per cell")
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=32_768, help="tokens per timing")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--corpora", default=",".join(CORPORA), help="of: " + ", ".join(CORPORA))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "fp32", "bf16"),
        help="of the speed rows, where a cell name has no @fp32/@bf16 (auto: as recur train)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cells, lengths = args.cells.split(","), [int(n) for n in args.lengths.split(",")]
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    cpu = cpu_name()
    results.update(
        date=time.strftime("%Y-%m-%d %H:%M"),
        cells=cells,
        lengths=lengths,
        host=f"{torch.get_num_threads()} threads, {cpu}",
    )
    if args.speed:
        rows = speed(
            cells,
            lengths,
            args.hidden_size,
            args.batch_size,
            args.rounds,
            args.tokens,
            args.precision,
        )
        results["speed"] = merged_speed(results.get("speed", []), rows, cells, cpu)
    if args.quality:
        rows = quality(cells, args.quality, args.threads, args.corpora.split(","))
        done = {(r["corpus"], r["cell"], r["steps"]) for r in rows}
        kept = [
            r
            for r in results.get("quality", [])
            if (r["corpus"], r["cell"], r["steps"]) not in done
        ]
        results["quality"] = kept + rows
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    text = PAGE.read_text(encoding="utf-8")
    if MARKERS[0] in text and MARKERS[1] in text:
        head, rest = text.split(MARKERS[0], 1)
        text = (
            head
            + MARKERS[0]
            + "\n"
            + table(results)
            + "\n"
            + MARKERS[1]
            + rest.split(MARKERS[1], 1)[1]
        )
        PAGE.write_text(text, encoding="utf-8")
    print(table(results))


if __name__ == "__main__":
    main()
