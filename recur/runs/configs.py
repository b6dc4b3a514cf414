"""The configs a run resolves to. A new run: dataclass defaults < the preset of its kind
(``config/presets.py``) < config file < options given. A resumed run: its saved configs, where a
model or data option that differs from them is an error. Torch-free: ``recur train --help`` asks
it which kind the arguments ask for."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from recur.config.options import ClassifierConfig, DataConfig, ModelConfig, TrainConfig, from_dict
from recur.config.presets import (
    CLASSIFIER,
    FORECAST,
    PRESETS,
    SAVED_MODEL_FALLBACKS,
    SERIES,
    asks_for_classifier,
    asks_for_series,
    language_model_kind,
)
from recur.config.series_options import SeriesConfig
from recur.data.corpora import get_corpus
from recur.data.pieces import is_music
from recur.errors import RecurError, UsageError
from recur.runs.integrity import leftover, read_json

SECTIONS = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig}
CLASSIFIER_SECTIONS = {**SECTIONS, "classifier": ClassifierConfig}
SERIES_SECTIONS = {**SECTIONS, "series": SeriesConfig}
ALL_SECTIONS = {**CLASSIFIER_SECTIONS, "series": SeriesConfig}
FIXED_ON_RESUME = ("model", "data", "classifier", "series")
# What a flag of another kind's section needs to be given with.
KIND_FLAGS = {
    "classifier": "classifiers (give --label-column)",
    "series": "numeric sequences (give --target or --forecast)",
}


def train_configs(
    options: dict, config: str | None = None, resume: str | None = None, gpu: bool = False
) -> tuple[str, dict]:
    """The kind of run (a ``presets`` kind) and its configs: those saved in the ``resume`` run
    directory, else the options over the ``config`` file over the kind's preset. ``gpu``: the
    run trains on a CUDA device (as ``--device cuda`` says; ``api.train`` also tells it
    when ``--device auto`` finds a GPU)."""
    if resume:
        configs = resume_configs(resume, options)
        if "classifier" in configs:
            return CLASSIFIER, configs
        if "series" in configs:
            return (FORECAST if configs["series"].forecast else SERIES), configs
        # A saved music run has data.midi set, so its inputs need not be read again.
        kind = language_model_kind(configs["data"], configs["train"], configs["data"].midi)
        return kind, configs
    base = read_config_file(config)
    if asks_for_series(options, base, _corpus_kind):
        forecast = options.get("forecast") or (base or {}).get("series", {}).get("forecast")
        kind = FORECAST if forecast else SERIES
        return kind, _kind_configs(kind, options, base, SERIES_SECTIONS)
    if asks_for_classifier(options, base, _corpus_kind):
        return CLASSIFIER, _classifier_configs(options, base)
    configs = build_configs(options, base)
    data, train = configs["data"], configs["train"]
    gpu = gpu or str(options.get("device", "")).startswith("cuda")
    kind = language_model_kind(data, train, is_music(data), gpu)
    preset = {k: v for k, v in PRESETS[kind].items() if k not in _chosen(options, base)}
    if preset:
        configs = build_configs({**preset, **options}, base)
    return kind, configs


def run_kind(options: dict, config: str | None = None) -> str:
    """The kind of new run the options (and config file) ask for."""
    return train_configs(options, config)[0]


def build_configs(options: dict, base: dict | None = None, sections: dict = SECTIONS) -> dict:
    """Dataclass configs: defaults < ``base`` (a config file's or a run's dict) < ``options``."""
    values = {section: dict((base or {}).get(section, {})) for section in sections}
    for name, value in options.items():
        section = _field_section(name)
        if section not in sections:
            flag = "--" + name.replace("_", "-")
            raise RecurError(f"{flag} is for {KIND_FLAGS[section]}")
        values[section][name] = value
    return {section: from_dict(cls, values[section]) for section, cls in sections.items()}


def classifier_configs(options: dict, config: str | None = None) -> dict:
    """The configs of a new classifier run: the classifier preset under the options given and the
    sections of the ``config`` file."""
    return _classifier_configs(options, read_config_file(config))


def _classifier_configs(options: dict, base: dict | None) -> dict:
    return _kind_configs(CLASSIFIER, options, base, CLASSIFIER_SECTIONS)


def _kind_configs(kind: str, options: dict, base: dict | None, sections: dict) -> dict:
    chosen = _chosen(options, base)
    # --steps replaces the preset's epoch count; --time keeps it as a cap, so the schedule still
    # decays when a small set needs less than the budget (see docs/experiments.md, Classifiers).
    if "steps" in chosen:
        chosen.add("epochs")
    defaults = {k: v for k, v in PRESETS[kind].items() if k not in chosen}
    return build_configs({**defaults, **options}, base, sections)


def resume_configs(run_dir, options: dict) -> dict:
    """The saved run's configs; a model or data option that differs from them is an error."""
    last = Path(run_dir) / "last"
    if not last.is_dir():
        last = leftover(last) or last  # a crash mid-save: open_run puts it back
    if not (last / "config.json").is_file():
        raise RecurError(f"{run_dir}: nothing to resume (no last/config.json)")
    saved = read_json(last / "config.json")
    if not all(isinstance(saved.get(section), dict) for section in ("model", "data", "train")):
        raise RecurError(f"{last / 'config.json'}: a model, data or train section is missing")
    saved["train"]["stop_after"] = None  # a pause point belongs to one invocation
    sections = CLASSIFIER_SECTIONS if saved.get("task") == "classify" else SECTIONS
    sections = SERIES_SECTIONS if saved.get("kind") == "series" else sections
    saved["model"] = {**SAVED_MODEL_FALLBACKS, **saved["model"]}
    for name, value in options.items():
        section = _field_section(name, sections)
        old = saved[section].get(name)
        if section in FIXED_ON_RESUME and value != old and not (name == "paths" and not value):
            flag = "--" + name.replace("_", "-")
            raise UsageError(
                f"{flag} {value} conflicts with the run's saved {name} = {old}; "
                "drop the flag to resume, or start a new run"
            )
    options = {k: v for k, v in options.items() if _field_section(k) == "train"}
    return build_configs(options, saved, sections)


def read_config_file(config: str | None) -> dict | None:
    """The sections of a ``--config`` JSON file, or None without one."""
    if not config:
        return None
    if not Path(config).is_file():
        raise RecurError(f"--config {config}: no such file")
    sections = read_json(config, "an object of model/data/train/classifier sections")
    for section, values in sections.items():
        if section not in CLASSIFIER_SECTIONS or not isinstance(values, dict):
            raise RecurError(
                f"--config {config}: {section!r} is not a section (a JSON object named one of "
                f"{', '.join(CLASSIFIER_SECTIONS)})"
            )
        known = {f.name for f in dataclasses.fields(CLASSIFIER_SECTIONS[section])}
        unknown = sorted(set(values) - known)
        if unknown:
            raise RecurError(f"--config {config}: unknown {section} option(s) {', '.join(unknown)}")
    return sections


def _chosen(options: dict, base: dict | None) -> set:
    """The option names given as flags or in the config file: the preset leaves them alone."""
    sections = (base or {}).values()
    return set(options) | {k for section in sections if isinstance(section, dict) for k in section}


def _field_section(name: str, sections: dict = ALL_SECTIONS) -> str:
    for section, cls in sections.items():
        if name in {f.name for f in dataclasses.fields(cls)}:
            return section
    raise RecurError(f"unknown training option {name!r}")


def _corpus_kind(name: str) -> str:
    return get_corpus(name).kind
