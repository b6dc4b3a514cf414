"""The GPU check (issue 29): one command that proves recur's CUDA path on a machine with a GPU.

    bash scripts/gpu_wheels.sh                 # here, once: wheels + tiny Shakespeare -> .gpu/
    python -m benchmarks.gpu --copy-to DIR     # there: about 7 minutes on an H200
    python -m benchmarks.gpu --dry-run         # every step at toy sizes on the CPU (.ci/run)

In order, each step bounded in time: install the carried wheels (``.gpu/wheels``) that the
machine's Python lacks, run the CUDA tests (``pytest -m cuda``), measure the bf16, TF32 and fp32
matmul rates, training tokens/s and MFU for every cell the config offers at 2x512 and 2x1024,
batch 64 to 512, sampling tokens/s at 1, 64 and 1024 streams (plain and as a CUDA graph), and
the training time to a validation loss of 1.45 on tiny Shakespeare with the GPU preset (and,
while time is left, other settings). Results go to benchmarks/results.json (its ``gpu`` entry)
and docs/benchmarks.md (its GPU section), after every step, and to ``--copy-to``. How to run it
on a lent machine: docs/gpu.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import torch

from . import gpu_measure as measure
from .gpu_quality import CARRIED, ROOT, SITE, child_env, quality_rows
from .gpu_report import bars, write_docs, write_results

FULL = {
    "tests": ["-m", "cuda"],
    "matmul": 8192,
    "widths": (512, 1024),
    "batches": (64, 128, 256, 512),
    "train_steps": 8,
    "seq": 128,
    "streams": (1, 64, 1024),
    "sample_hidden": 512,
    "sample_steps": 800,
    "quality": "60s",
    "budget": 450,
}
DRY = {
    "tests": ["-m", "cuda", "tests/cuda"],
    "matmul": 256,
    "widths": (32,),
    "batches": (4,),
    "train_steps": 1,
    "seq": 16,
    "streams": (1, 4),
    "sample_hidden": 32,
    "sample_steps": 40,
    "quality": None,
    "budget": 120,
}


def install_wheels(folder: Path) -> list[str]:
    """Installs the carried wheels of distributions this Python lacks, or has in an older
    version, into SITE (first on sys.path and on the PYTHONPATH of every child process);
    returns their file names."""
    from importlib import metadata

    from packaging.version import Version

    wanted = []
    for wheel in sorted(folder.glob("*.whl")):
        name, version = wheel.name.split("-")[:2]
        try:
            if Version(metadata.version(name)) < Version(version):
                wanted.append(wheel)
        except metadata.PackageNotFoundError:
            wanted.append(wheel)
    if wanted:
        command = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps"]
        command += ["--no-compile", "--upgrade", "--target", str(SITE), *map(str, wanted)]
        subprocess.run(command, check=True, timeout=120)
        sys.path.insert(0, str(SITE))
    return [wheel.name for wheel in wanted]


def machine(device: torch.device) -> dict:
    cuda = device.type == "cuda"
    return {
        "device": torch.cuda.get_device_name(device) if cuda else platform.processor() or "CPU",
        "torch": torch.__version__,
        "cuda": torch.version.cuda or "none",
        "cudnn": torch.backends.cudnn.version() if cuda else "none",
        "python": platform.python_version(),
    }


def run_tests(plan: dict, seconds: float, log: Path) -> dict:
    """``pytest -m cuda``: its whole output goes to ``log``, its summary into the results."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plan["tests"]]
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=seconds
        )
    except subprocess.TimeoutExpired as stopped:  # keep what it printed
        output = stopped.stdout or ""
        log.write_text(output if isinstance(output, str) else output.decode(), encoding="utf-8")
        return {"summary": f"stopped after {seconds:.0f} s", "returncode": None, "tail": ""}
    log.write_text(done.stdout + done.stderr, encoding="utf-8")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    tail = "\n".join(lines[-40:])
    print(tail, flush=True)
    return {
        "summary": lines[-1] if lines else "no output",
        "returncode": done.returncode,
        "tail": tail,
    }


def training_rows(plan: dict, device, ceilings: dict, stop_at: float) -> list[dict]:
    precisions = ("bf16",) if device.type == "cuda" else ("fp32",)
    rows = []
    for cell in measure.cells():
        for width in plan["widths"]:
            for batch in plan["batches"]:
                for precision in precisions:
                    if time.perf_counter() > stop_at:
                        rows.append({"cell": cell, "hidden_size": width, "error": "no time left"})
                        return rows
                    rows.append(training_row(cell, width, batch, device, precision, plan, ceilings))
    if device.type == "cuda":  # the same 2x512 LSTM in fp32 (TF32 products in cuDNN)
        rows.append(training_row("lstm", 512, 256, device, "fp32", plan, ceilings))
        for reseed in (False, True):  # the GPU preset's shape, with the trainer's reseed or not
            extra = {"dropout": 0.25, "reseed": reseed}
            rows.append(training_row("lstm", 1024, 128, device, "bf16", plan, ceilings, extra))
    return rows


def training_row(cell, width, batch, device, precision, plan, ceilings, extra=None) -> dict:
    try:
        steps, seq = plan["train_steps"], plan["seq"]
        row = measure.training_rate(
            cell, width, batch, device, precision, steps, seq, **(extra or {})
        )
    except (RuntimeError, NotImplementedError) as error:  # out of memory, or a cell's gap
        if device.type == "cuda":
            torch.cuda.empty_cache()
        return {"cell": cell, "hidden_size": width, "error": f"{type(error).__name__}"[:80]}
    ceiling = ceilings.get("bf16" if precision == "bf16" else "tf32", ceilings["fp32"])
    row["mfu"] = row["tflops"] / ceiling
    print(f"training {json.dumps(row)}", flush=True)
    return row


def sampling_rows(plan: dict, device) -> list[dict]:
    rows, hidden, steps = [], plan["sample_hidden"], plan["sample_steps"]

    def add(what: str, streams: int, measured) -> None:
        try:
            rates = measured()
        except (RuntimeError, ValueError) as error:  # say what broke; measure the rest
            print(f"sampling {what}, {streams} streams failed: {error}", flush=True)
            return
        for kind, rate in (rates if isinstance(rates, dict) else {"": rates}).items():
            if isinstance(rate, str):
                print(f"{what} at {streams} streams: {rate}", flush=True)
                continue
            label = f"{what}, {streams} stream{'s' * (streams > 1)}{', ' * bool(kind)}{kind}"
            row = {"what": label, "streams": streams, "hidden_size": hidden}
            rows.append({**row, "tokens_per_second": rate})
            print(f"sampling {json.dumps(rows[-1])}", flush=True)

    for streams in plan["streams"]:
        for precision in ("fp32", "bf16"):
            rate = partial(measure.sampling_rate, hidden, streams, device, steps, precision)
            add(f"`generate()` {precision}", streams, rate)
        step = partial(measure.step_rates, hidden, streams, device, steps)
        add("one-token step, greedy", streams, step)
    return rows


def save(results: dict, args, files: tuple, step: str, started: float) -> None:
    """The results as they stand, in the repository's files (or the dry run's copies)."""
    print(f"--- {step} done at {time.perf_counter() - started:.1f} s", flush=True)
    results["bars"] = bars(results)
    write_results(results, files[0])
    write_docs(results, files[1])
    if args.copy_to:
        Path(args.copy_to).mkdir(parents=True, exist_ok=True)
        for path in files:
            if path.is_file():
                shutil.copy(path, Path(args.copy_to) / path.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="toy sizes on the CPU")
    parser.add_argument("--copy-to", help="also copy results.json, benchmarks.md, tests.log here")
    parser.add_argument("--skip-tests", action="store_true", help="measure only")
    args = parser.parse_args(argv)
    plan, started = (DRY if args.dry_run else FULL), time.perf_counter()
    stop_at = started + plan["budget"]
    out = ROOT / "benchmarks" / "out" / ("gpu-dry" if args.dry_run else "gpu")
    out.mkdir(parents=True, exist_ok=True)
    wheels = [] if args.dry_run else install_wheels(CARRIED / "wheels")
    if not args.dry_run and not torch.cuda.is_available():
        print("no CUDA GPU here: run it on a machine with one, or give --dry-run", file=sys.stderr)
        return 2
    device = torch.device("cuda" if not args.dry_run else "cpu")
    files = (ROOT / "benchmarks" / "results.json", ROOT / "docs" / "benchmarks.md")
    if args.dry_run:  # never the repository's own files: copies in benchmarks/out
        for path in files:
            shutil.copy(path, out / path.name)
        files = (out / files[0].name, out / files[1].name)
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "dry_run": args.dry_run}
    results.update(machine=machine(device), wheels=wheels, training=[], sampling=[], quality=[])
    results["tests"] = {"summary": "not run"}
    results["matmul_tflops"] = measure.matmul_rates(device, plan["matmul"])
    if not args.skip_tests:
        results["tests"] = run_tests(plan, 240 if not args.dry_run else 120, out / "tests.log")
        files = (*files, out / "tests.log")
    save(results, args, files, "matmul and tests", started)
    results["training"] = training_rows(plan, device, results["matmul_tflops"], started + 300)
    save(results, args, files, "training speed", started)
    results["sampling"] = sampling_rows(plan, device)
    save(results, args, files, "sampling speed", started)
    results["quality"] = quality_rows(plan["quality"], device, out, stop_at)
    results["seconds"] = round(time.perf_counter() - started, 1)
    save(results, args, files, "time to 1.45", started)
    print(json.dumps(results["bars"], indent=2))
    print(f"done in {results['seconds']} s; wrote {', '.join(str(p) for p in files)}")
    return 0 if args.skip_tests or results["tests"].get("returncode") == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
