"""The kinds of run a run directory can hold, and how each is read back: ``KINDS``.

New runs record their kind in ``config.json`` (``"kind"``: lm, music, classifier or series).
Older runs have none: a classifier's config says ``"task": "classify"``, a music run's
tokenizer is the MIDI one, and anything else is a language model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from recur.config.options import ClassifierConfig, from_dict
from recur.config.presets import saved_model_config
from recur.config.series_options import SeriesConfig
from recur.errors import RecurError
from recur.models.classifier import build_classifier
from recur.models.language_model import build_model
from recur.models.series import build_series_model


def _language_model(config: dict) -> nn.Module:
    return build_model(saved_model_config(config["model"]))


def _classifier(config: dict) -> nn.Module:
    return build_classifier(
        saved_model_config(config["model"]), from_dict(ClassifierConfig, config["classifier"])
    )


def _series(config: dict) -> nn.Module:
    return build_series_model(
        saved_model_config(config["model"]), from_dict(SeriesConfig, config["series"])
    )


@dataclass(frozen=True)
class Kind:
    name: str
    build: Callable[[dict], nn.Module]  # the model of a saved config.json, untrained
    action: str  # what the CLI does with a trained one: "generate" or "predict"


KINDS = {
    "lm": Kind("lm", _language_model, "generate"),
    "music": Kind("music", _language_model, "generate"),
    "classifier": Kind("classifier", _classifier, "predict"),
    "series": Kind("series", _series, "predict"),
}


def kind_of(config: dict, tokenizer_kind: str = "") -> Kind:
    """The kind of a saved run, from its config.json and the kind of its tokenizer."""
    name = config.get("kind")
    if name is None:
        if config.get("task") == "classify":
            name = "classifier"
        else:
            name = "music" if tokenizer_kind == "midi" else "lm"
    if name not in KINDS:
        raise RecurError(
            f"this run is of kind {name!r}, which this version of recur does not know "
            f"({', '.join(KINDS)}); a newer recur wrote it"
        )
    return KINDS[name]
