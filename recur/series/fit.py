"""Setting up a numeric-sequence run: ``fit_series()``.

Reads the sequences (saying how many, their lengths and the missing values filled), works out
the task from ``--target`` / ``--forecast``, splits, fits the scaling on the training part, and
hands a ``SeriesTask`` to the one ``Trainer``. After training the ``best/`` model is reported on
the validation part beside its baseline: ``report.json`` (and ``forecast.png`` for forecasts).
"""

from __future__ import annotations

import json
from pathlib import Path

from recur.errors import RecurError
from recur.models.language_model import count_parameters
from recur.runs import checkpoint
from recur.runs.integrity import atomic_write_text, write_manifest
from recur.runs.logbook import Logbook
from recur.series.prepare import Prepared, fit_scaler, resolve_task, split, summary
from recur.series.read import read_series
from recur.series.report import (
    calibrate,
    forecast_report,
    format_report,
    plot_forecasts,
    summary_report,
)
from recur.series.task import SeriesTask
from recur.training.session import close_run, open_run
from recur.training.trainer import Trainer


def prepare_series(configs: dict, resume: bool) -> Prepared:
    data, series, train = configs["data"], configs["series"], configs["train"]
    full = read_series(data, series)
    saved = (list(series.channels), series.task)
    resolve_task(series, full)
    if resume and saved != (list(series.channels), series.task):
        raise RecurError(
            f"the data now has channels {series.channels} ({series.task}); the run was trained "
            f"on {saved[0]} ({saved[1]}): resume with the same data"
        )
    trn, val = split(full, series, data.val_fraction, train.seed)
    if series.task != "forecast" and len(trn) == 0:
        raise RecurError("no training sequences left after the validation split")
    scaler = fit_scaler(trn, series)
    return Prepared(trn, val, scaler, summary(full, trn, val, series))


def fit_series(configs: dict, resume: str | None = None, quiet: bool = False) -> Path:
    """Train (or resume) a numeric-sequence run; returns its run directory."""
    data, train, model = configs["data"], configs["train"], configs["model"]
    session = open_run(train, data, resume)
    group, run_dir = session.group, session.run_dir
    prepared = prepare_series(configs, bool(resume))
    if group.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
    log = Logbook(run_dir, quiet or not group.is_main, enabled=group.is_main)
    for line in prepared.lines + ([session.note] if session.note else []):
        log.say(line)
    task = SeriesTask(configs, prepared, group)
    trainer = Trainer(task, train, session, log)
    if resume:
        trainer.resume()
    series = configs["series"]
    log.say(
        f"model: {model.cell.upper()} {model.num_layers}x{model.hidden_size}"
        f"{' both directions' if series.both_directions and series.task != 'forecast' else ''}, "
        f"dropout {model.dropout}, {count_parameters(trainer.model):,} parameters on "
        f"{trainer.device}; batch {data.batch_size}; plan: {trainer.plan.describe()}"
    )
    finished = trainer.run()
    if finished and group.is_main:
        validating = data.val_fraction > 0
        final_report(run_dir, prepared, series, session.device, log.say, validating)
    close_run(session)
    return run_dir


def final_report(
    run_dir: Path, prepared: Prepared, series, device, say, validating: bool = True
) -> dict | None:
    """The best (else last) model on the validation part, beside the baselines."""
    bundle = checkpoint.load(run_dir, device)
    if len(prepared.val) == 0 or (series.task == "forecast" and not validating):
        return None
    if series.task == "forecast":
        if series.calibrate:
            factors = calibrate(bundle.model, prepared.val, series, prepared.scaler)
            series.interval_scale, series.horizon_scales = factors
            saved = json.loads((bundle.path / "config.json").read_text())
            saved["series"]["interval_scale"] = series.interval_scale
            saved["series"]["horizon_scales"] = series.horizon_scales
            atomic_write_text(bundle.path / "config.json", json.dumps(saved, indent=2))
            write_manifest(bundle.path)  # the checksums follow the calibrated config
            low, high = min(series.horizon_scales), max(series.horizon_scales)
            say(
                f"80% intervals calibrated: sample spread x {series.interval_scale:.3f} "
                f"({low:.3f}-{high:.3f} by step ahead)"
            )
        report, drawn = forecast_report(bundle.model, prepared.val, series, prepared.scaler)
        if drawn:
            plot_forecasts(drawn, run_dir / "forecast.png", "validation")
        return None
    else:
        report = summary_report(
            bundle.model, prepared.val, series, prepared.scaler, device, prepared.train
        )
    say(format_report(report, series.task, "validation, best checkpoint"))
    (run_dir / "report.json").write_text(json.dumps({"split": "validation", **report}, indent=2))
    say(f"wrote {run_dir / 'report.json'}")
    return report
