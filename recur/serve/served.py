"""The models a server holds: each run loaded once under a name, its step loop (language models
and music) or its classifier, the precision chosen for it, and the facts the page shows (kind,
size, training data, validation figures, loss curve from the run's ``metrics.jsonl``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from recur.classify.use import Classifier
from recur.config.serve_options import ServeConfig
from recur.errors import RecurError
from recur.generate.documents import run_directory
from recur.runs.checkpoint import Bundle
from recur.runs.checkpoint import load as load_bundle
from recur.series.use import SeriesModel
from recur.serve.engine import Engine
from recur.serve.precision import Choice, choose

CURVE_POINTS = 200  # the loss curve the page draws is thinned to about this many points


class NotFound(RecurError):
    """A request names a model the server does not hold (404)."""

    status = 404


@dataclass
class Served:
    name: str
    bundle: Bundle
    engine: Engine | None = None  # language models and music
    classifier: Classifier | None = None
    series: SeriesModel | None = None  # numeric-sequence runs
    precision: Choice | None = None
    facts: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.bundle.kind

    @property
    def documents(self) -> bool:
        return self.bundle.config.get("data", {}).get("documents", "none") not in ("none", "auto")

    @property
    def conditions(self) -> dict:
        return self.bundle.config.get("data", {}).get("conditions") or {}


def unique_names(paths: list[str]) -> list[str]:
    """A short name per run: its directory's name, numbered where two share one."""
    names: list[str] = []
    for path in paths:
        base = run_directory(Path(path).resolve()).name or "model"
        name, count = base, 1
        while name in names:
            count += 1
            name = f"{base}-{count}"
        names.append(name)
    return names


def load_models(paths: list[str], config: ServeConfig) -> dict[str, Served]:
    """Load every run once; language models and music get their step loop and precision."""
    if not paths:
        raise RecurError("name at least one run directory to serve")
    served = {}
    for name, path in zip(unique_names(paths), paths):
        bundle = load_bundle(path, config.device)
        bundle.model.eval()
        item = Served(name, bundle)
        if bundle.kind == "classifier":
            item.classifier = Classifier(bundle, config.device)
        elif bundle.kind == "series":
            item.series = SeriesModel(bundle, config.device)
        else:
            item.precision = choose(
                bundle, config.precision, config.precision_tokens, config.device
            )
            item.engine = Engine(
                bundle.model,
                item.precision.precision,
                config.device,
                config.max_streams,
                config.request_seconds,
            )
        item.facts = facts(item)
        served[name] = item
    return served


def facts(item: Served) -> dict:
    """What the page shows about a run."""
    config, model = item.bundle.config, item.bundle.model
    directory = run_directory(item.bundle.path)
    data = config.get("data", {})
    shown = {
        "name": item.name,
        "kind": item.kind,
        "parameters": sum(p.numel() for p in model.parameters()),
        "model": config.get("model", {}),
        "training_data": data.get("corpus") or data.get("paths") or [],
        "level": data.get("level"),
        "documents": item.documents,
        "conditions": {c: list(v) for c, v in item.conditions.items()},
        "train": {k: config.get("train", {}).get(k) for k in ("steps", "time", "epochs")},
    }
    if item.classifier is not None:
        shown["classes"] = list(item.classifier.classes)
    if item.series is not None:
        keys = ("task", "channels", "class_names", "targets", "forecast", "covariate_columns")
        shown["series"] = {k: getattr(item.series.series, k) for k in keys}
    if item.precision is not None:
        choice = item.precision
        shown["precision"] = {
            "chosen": choice.precision,
            "measured_on": choice.source,
            "tokens": choice.tokens,
            "measured": choice.measured,
        }
    shown.update(logbook(directory))
    return shown


def logbook(directory: Path) -> dict:
    """The loss curve (train and validation) and the last validation figures of a run."""
    path = directory / "metrics.jsonl"
    if not path.is_file():
        return {"curve": {"train": [], "validation": []}, "validation": {}}
    train, validation, last = [], [], {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("kind") == "train" and "loss" in record:
            train.append([record["step"], record["loss"]])
        elif record.get("kind") == "eval":
            score = record.get("val_loss", record.get("macro_f1"))
            if score is not None:
                validation.append([record["step"], score])
            last = {k: v for k, v in record.items() if k.startswith(("val_", "macro", "acc"))}
    every = max(1, len(train) // CURVE_POINTS)
    report = directory / "report.json"
    if report.is_file():
        figures = json.loads(report.read_text(encoding="utf-8"))
        last.update({k: v for k, v in figures.items() if isinstance(v, (int, float))})
    return {"curve": {"train": train[::every], "validation": validation}, "validation": last}
