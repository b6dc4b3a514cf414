"""The numeric-sequence acceptance runs: export the datasets that ship inside installed packages
(the parabolas corpus; GunPoint and ItalyPowerDemand from aeon; airline, and lynx and shampoo
(checks of generality, never tuned on) from aeon; co2, elnino, and nile and sunspots (annual:
checks of generality, never tuned on) from statsmodels) to CSV
files in a temporary folder, train on each with ``recur train ... --time`` (or ``--steps``),
evaluate on the held-out part with ``recur evaluate --json``, and write the table into
docs/benchmarks.md (its "Numeric sequences" section), each figure beside the issue's bar.

    python benchmarks/series.py --time 5m --threads 2        # every dataset
    python benchmarks/series.py --only gunpoint,airline --time 2m
    python benchmarks/series.py --only airline,co2,elnino --forecast-steps 2000 --seeds 0,1,2
    python benchmarks/series.py --only airline,co2,elnino,nile --forecast-default --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- series-table-start -->", "<!-- series-table-end -->"


def write_wide(path: Path, values, labels) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label"] + [f"t{j:03d}" for j in range(values.shape[-1])])
        for label, row in zip(labels, values.reshape(len(values), -1)):
            writer.writerow([label] + [f"{v:.6g}" for v in row])


def write_single(path: Path, values) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["t", "value"])
        for t, v in enumerate(values):
            writer.writerow([t, "" if v != v else f"{v:.6g}"])


def export(name: str, folder: Path) -> dict:
    """Files and flags of one acceptance run."""
    if name == "parabolas":
        from recur.data.parabolas import parabolas

        rows = parabolas(count=500, seed=1)  # fresh parabolas, not among the training ones
        test = folder / "parabolas-heldout.csv"
        with open(test, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return {"train": ["--corpus", "parabolas", "--target", "a,b,c"], "test": test}
    if name in ("gunpoint", "italypowerdemand"):
        from aeon.datasets import load_classification

        dataset = {"gunpoint": "GunPoint", "italypowerdemand": "ItalyPowerDemand"}[name]
        files = {}
        for split in ("train", "test"):
            x, y = load_classification(dataset, split=split)
            files[split] = folder / f"{name}-{split}.csv"
            write_wide(files[split], x, y)
        # The standard protocol: train on the whole train split (no validation hold-out).
        flags = [str(files["train"]), "--target", "label", "--val-fraction", "0"]
        return {"train": flags, "test": files["test"]}
    if name == "airline":
        from aeon.datasets import load_airline

        values = [float(v) for v in load_airline()]
        season = 12
    elif name in ("lynx", "shampoo"):  # aeon's other two: checks of generality, never tuned on
        import warnings

        from aeon.datasets import load_lynx, load_shampoo_sales

        with warnings.catch_warnings():  # aeon deprecates both loaders (still shipped in 1.x)
            warnings.simplefilter("ignore", FutureWarning)
            loaded = load_lynx() if name == "lynx" else load_shampoo_sales()
        values, season = [float(v) for v in loaded], 1
    elif name in ("nile", "sunspots"):  # annual: checks of generality, never tuned on
        import statsmodels.api as sm

        table = {"nile": sm.datasets.nile, "sunspots": sm.datasets.sunspots}[name]
        frame = table.load_pandas().data
        values, season = [float(v) for v in frame.iloc[:, 1]], 1
    elif name == "elnino":  # monthly sea surface temperatures, 1950-2010, one row a year
        import statsmodels.api as sm

        table = sm.datasets.elnino.load_pandas().data.iloc[:, 1:]
        values, season = [float(v) for v in table.to_numpy().ravel()], 12
    else:  # co2: weekly Mauna Loa readings averaged by month, 5 months missing
        import statsmodels.api as sm

        frame = sm.datasets.co2.load_pandas().data.resample("MS").mean()
        values, season = [float(v) for v in frame["co2"]], 12
    full, history = folder / f"{name}.csv", folder / f"{name}-history.csv"
    write_single(full, values)
    write_single(history, values[:-12])
    flags = [str(history), "--forecast", "12", "--season", str(season), "--time-column", "t"]
    return {"train": flags, "test": full}


def recur(*args: str, timeout: float) -> str:
    command = [sys.executable, "-m", "recur", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def row(name: str, report: dict, budget: str) -> str:
    """One table line, the issue's bar checked at its end."""
    if "accuracy" in report:
        base = report["baselines"]["nearest_neighbour"]["accuracy"]
        met = report["accuracy"] >= max(0.95, base)
        return (
            f"| {name} | accuracy | {report['accuracy']:.4f} | 1-NN {base:.4f} | | {budget} | "
            f"{'met' if met else 'NOT met'} (>= 0.95 and >= 1-NN) |"
        )
    if "r2" in report:
        base = report["baselines"]["linear_summary"]["r2"]
        met = report["r2"] >= 0.99
        return (
            f"| {name} | R² | {report['r2']:.4f} | linear on summaries {base:.4f} | | {budget} | "
            f"{'met' if met else 'NOT met'} (>= 0.99) |"
        )
    naive = report["baselines"]["seasonal_naive"]["mase"]
    smooth = report["baselines"]["exponential_smoothing"]["mase"]
    below = "met" if report["mase"] < naive else "NOT met"
    inside = "met" if 0.70 <= report["coverage_80"] <= 0.90 else "NOT met"
    return (
        f"| {name} | MASE (last 12) | {report['mase']:.3f} | seasonal naive {naive:.3f}, "
        f"exp. smoothing {smooth:.3f} | {report['coverage_80']:.2f} "
        f"({report.get('coverage_80_rolling', float('nan')):.2f} rolling) | {budget} | "
        f"MASE < naive {below}; coverage in 0.70-0.90 {inside} |"
    )


def trained_steps(run: Path) -> str:
    """How many steps the run took, and whether it stopped early."""
    state = json.loads((run / "last" / "trainer_state.json").read_text())
    return f"{state['step']} steps{', stopped early' if state.get('stopped_early') else ''}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time", default="5m", help="training budget of each run")
    parser.add_argument("--threads", default="1", help="one: two threads collapse on a busy host")
    parser.add_argument("--only", default="parabolas,gunpoint,italypowerdemand,airline,co2,elnino")
    parser.add_argument("--extra", default="", help="more recur train flags, as one string")
    parser.add_argument("--no-doc", action="store_true", help="print the table only")
    parser.add_argument(
        "--forecast-steps",
        type=int,
        default=0,
        help="train forecasters this many steps instead of --time (figures then do not depend "
        "on the host's load)",
    )
    parser.add_argument(
        "--forecast-default",
        action="store_true",
        help="train forecasters with their preset's budget (150 epochs, stopping early) instead "
        "of --time: a fixed step count per series, whatever the host's load",
    )
    parser.add_argument("--seeds", default="0", help="comma-separated --seed of each run")
    args = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        for name, seed in [(n, s) for n in args.only.split(",") for s in args.seeds.split(",")]:
            spec = export(name, Path(folder))
            run = Path(folder) / "runs" / f"{name}-{seed}"
            flags, budget = ["--time", args.time], args.time
            if "--forecast" in spec["train"] and args.forecast_steps > 0:
                flags, budget = (
                    ["--steps", str(args.forecast_steps)],
                    f"--steps {args.forecast_steps}",
                )
            elif "--forecast" in spec["train"] and args.forecast_default:
                flags, budget = [], "preset"
            recur(
                "train",
                *spec["train"],
                *flags,
                "--seed",
                seed,
                "--threads",
                args.threads,
                "--out",
                str(run),
                "--quiet",
                *args.extra.split(),
                timeout=3600,
            )
            report = json.loads(
                recur(
                    "evaluate",
                    str(run),
                    str(spec["test"]),
                    "--json",
                    "--threads",
                    args.threads,
                    timeout=3600,
                )
            )
            label = f"{name} (seed {seed})" if len(args.seeds.split(",")) > 1 else name
            lines.append(row(label, report, f"{budget} ({trained_steps(run)})"))
            print(lines[-1], flush=True)
    table = "\n".join(
        [
            "| dataset | score | recur | baseline | 80% coverage | budget | bar |",
            "|---|---|---|---|---|---|---|",
        ]
        + lines
    )
    if not args.no_doc:
        text = DOC.read_text()
        if START in text:
            text = (
                text[: text.index(START) + len(START)]
                + "\n"
                + table
                + "\n"
                + text[text.index(END) :]
            )
            DOC.write_text(text)
    print(table)


if __name__ == "__main__":
    main()
