"""What each option accepts: types, ranges and forms, checked whenever a config is built from a
dict (flags, a --config file, a saved run), so a bad value is a one-line ``UsageError`` naming
the flag, never a crash deep in training or sampling. (--time and --eval-every are read, with
their own messages, where they are used: a run's kind is resolved before.)"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from typing import Any

from recur.errors import UsageError

Rule = Callable[[Any], str | None]  # a value -> what is wrong with it, or None


def at_least(low: float) -> Rule:
    return lambda value: None if value >= low else f"must be at least {low:g}"


def between(low: float, high: float, high_open: bool = False) -> Rule:
    def rule(value):
        if low <= value and (value < high if high_open else value <= high):
            return None
        return f"must be from {low:g} to {high:g}" + (" (not included)" if high_open else "")

    return rule


def above(low: float) -> Rule:
    return lambda value: None if value > low else f"must be more than {low:g}"


def matches(pattern: str, example: str) -> Rule:
    return lambda value: (
        None if re.fullmatch(pattern, str(value).strip()) else f"write it as {example}"
    )


RULES: dict[str, dict[str, Rule]] = {
    "ModelConfig": {
        "num_layers": at_least(1),
        "hidden_size": at_least(1),
        "embedding_size": at_least(1),
        "dropout": between(0, 1, high_open=True),
        "embedding_dropout": between(0, 1, high_open=True),
        "weight_drop": between(0, 1, high_open=True),
        "activation_regularization": at_least(0),
        "temporal_activation_regularization": at_least(0),
        "vocab_size": at_least(0),
        "adaptive_softmax": matches(r"auto|none|\s*|\d+(\s*,\s*\d+)*", "auto, none or 2000,10000"),
        "adaptive_div_value": at_least(1),
    },
    "DataConfig": {
        "min_count": at_least(0),
        "max_vocab": at_least(0),
        "bpe_vocab_size": at_least(1),
        "val_fraction": between(0, 1, high_open=True),
        "batch_size": at_least(1),
        "seq_length": at_least(1),
        "quantize": at_least(1),
        "tracks": matches(r"all|\d+(\s*,\s*\d+)*", "all or track numbers such as 0,2"),
        "transpose": matches(r"-?\d+\s*\.\.\s*-?\d+|-?\d+(\s*,\s*-?\d+)*", "-5..6, 0 or 0,12"),
        "where": matches(r"[^=]+=.*", "COLUMN=VALUE"),
        # true/false: what runs saved before "auto" hold
        "split_punctuation": lambda value: (
            None if value in ("auto", "yes", "no", True, False) else "choose auto, yes or no"
        ),
    },
    "TrainConfig": {
        "steps": at_least(1),
        "epochs": above(0),
        "lr": above(0),
        "min_lr_ratio": between(0, 1),
        "warmup_steps": at_least(0),
        "weight_decay": at_least(0),
        "grad_clip": at_least(0),
        "muon_lr_scale": above(0),
        "newton_schulz_steps": at_least(1),
        "average_from": between(0, 1, high_open=True),
        "max_val_tokens": at_least(0),
        "val_streams": at_least(1),
        "log_every": at_least(1),
        "threads": at_least(1),
        "samples": at_least(0),
        "stop_after": at_least(1),
        "stlr_cut": between(0, 1, high_open=True),
        "stlr_ratio": at_least(1),
    },
    "ClassifierConfig": {
        "min_class_count": at_least(1),
        "max_tokens": at_least(0),
        "ensemble": at_least(1),
        "word_dropout": between(0, 1, high_open=True),
        "average_epochs": at_least(0),
        "patience": at_least(0),
        "freeze_epochs": at_least(0),
        "lr_decay": at_least(1),
        "lm_finetune": between(0, 1, high_open=True),
    },
    "SampleConfig": {
        "length": at_least(0),
        "num_samples": at_least(1),
        "temperature": at_least(0),
        "top_k": at_least(0),
        "top_p": lambda v: None if 0 < v <= 1 else "must be more than 0 and at most 1",
        "no_repeat_ngram": at_least(0),
        "beam": at_least(0),
        "min_words": at_least(0),
        "max_words": at_least(1),
        "guidance": at_least(0),
    },
    "MusicConfig": {"prime_seconds": above(0), "tempo": above(0), "seconds": above(0)},
    "ServeConfig": {
        "port": between(0, 65535),
        "max_body_bytes": at_least(1),
        "max_tokens": at_least(1),
        "max_samples": at_least(1),
        "max_streams": at_least(1),
        "request_seconds": above(0),
        "precision_tokens": at_least(2),
        "threads": at_least(1),
    },
    "InspectConfig": {
        "top_units": at_least(1),
        "max_values": at_least(0),
        "saturation": between(0, 0.5, high_open=True),
        "max_chars": at_least(1),
        "deletions": at_least(1),
    },
    "EvaluateConfig": {
        "dynamic_segment": at_least(0),
        "dynamic_lr": at_least(0),
        "dynamic_decay": between(0, 1),
        "cache_size": at_least(0),
        "cache_theta": at_least(0),
        "cache_lambda": between(0, 1),
    },
    "ExportConfig": {"check_tokens": at_least(2), "tolerance": above(0)},
}
KINDS = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
}


def check(config) -> None:
    """Raise a ``UsageError`` for the first field of ``config`` that its rules refuse."""
    rules = RULES.get(type(config).__name__, {})
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if value is None:
            continue
        problem = _type_problem(field, value)
        if (
            problem is None
            and field.metadata.get("choices")
            and value not in field.metadata["choices"]
        ):
            problem = "choose one of " + ", ".join(map(str, field.metadata["choices"]))
        if problem is None and field.name in rules:
            problem = rules[field.name](value)
        if problem:
            flag = field.metadata.get("flag") or "--" + field.name.replace("_", "-")
            raise UsageError(f"{flag} {value!r}: {problem}")


def _type_problem(field, value) -> str | None:
    name = str(field.type).removeprefix("Optional[").removesuffix("]").removesuffix(" | None")
    kinds = KINDS.get(name)
    if kinds is None:
        return None
    if isinstance(value, bool) and name != "bool":
        return f"must be {'a whole number' if name == 'int' else 'a ' + name}, not true/false"
    if not isinstance(value, kinds):
        wanted = {"int": "a whole number", "float": "a number", "dict": "a JSON object"}
        return f"must be {wanted.get(name, 'a ' + name)}"
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    return None
