"""The command line of numeric-sequence runs: the flags ``recur predict`` and ``recur evaluate``
take for them (--anomalies, --horizon, --plot, --uncalibrated), and what those commands print
for a series run. Torch-free at import: ``add_command`` runs for every --help."""

from __future__ import annotations

import json
from pathlib import Path

UNCALIBRATED = (
    "forecasting runs: quantiles from the network's own spread, without the interval factors "
    "--calibrate stored in the run (config.json's series interval_scale, horizon_scales)"
)


def add_command(commands) -> None:
    """No command of its own: series options on the predict and evaluate commands."""
    predict = commands.choices["predict"].add_argument_group("numeric-sequence runs")
    predict.add_argument(
        "--anomalies",
        action="store_true",
        help="forecasting runs: a score per time step instead of a forecast (the negative "
        "log-likelihood of each value under the one-step forecast; higher is more surprising)",
    )
    predict.add_argument(
        "--horizon", type=int, help="forecasting runs: steps to forecast (default: the run's H)"
    )
    predict.add_argument(
        "--plot", metavar="PNG", help="forecasting runs: draw history, forecast and interval"
    )
    predict.add_argument("--uncalibrated", action="store_true", help=UNCALIBRATED)
    evaluate = commands.choices["evaluate"].add_argument_group("numeric-sequence runs")
    evaluate.add_argument("--uncalibrated", action="store_true", help=UNCALIBRATED)
    evaluate.add_argument(
        "--plot",
        metavar="PNG",
        help="forecasting runs: where the plot of history, forecast and interval goes "
        "(default: forecast.png beside the run)",
    )


def run(args) -> None:  # pragma: no cover - no command of its own
    raise SystemExit(f"recur {args.command}: not a series command")


def evaluate(model, args) -> None:
    from recur.series.report import format_report

    if args.uncalibrated:
        model.uncalibrated()
    plot = args.plot or (model.path.parent / "forecast.png")
    report = model.evaluate(args.file, plot=plot if model.task == "forecast" else None)
    if args.json:
        print(json.dumps(report))
        return
    print(format_report(report, model.task, Path(args.file).name))
    if "plot" in report:
        print(f"wrote {report['plot']}")


def predict(model, args) -> None:
    if args.uncalibrated:
        model.uncalibrated()
    result = model.predict_file(
        args.file, args.out, anomalies=args.anomalies, horizon=args.horizon, plot=args.plot
    )
    what = "anomaly scores" if args.anomalies else "predictions"
    print(f"wrote {result['out']}: {what} for {result['series']:,} series, {result['rows']:,} rows")
