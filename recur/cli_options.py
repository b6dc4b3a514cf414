"""The flags of ``recur train``, made from the config dataclasses, and the defaults its --help
shows: those of the kind of run the other arguments ask for (``config/presets.py``).

Torch-free, as ``recur --help`` must be.
"""

from __future__ import annotations

import argparse
import dataclasses
import re

from recur.config import presets
from recur.config.options import ClassifierConfig, DataConfig, ModelConfig, TrainConfig
from recur.config.series_options import SeriesConfig
from recur.errors import RecurError

TYPES = {"int": int, "float": float, "str": str, "str | bool": str}
TRAIN_DESCRIPTION = (
    "Train an RNN language model on characters, words or BPE subwords (CSV/JSONL rows or "
    "--documents lines make a document model), or over MIDI events (music); with "
    "--label-column, a text classifier."
)
OTHER_KINDS = (
    "the defaults of another kind show with its options before --help: --label-column COLUMN "
    "or --corpus kjv-genres (classifier), --midi (music), --condition-column COLUMN "
    "(conditional document), --time 10m (long-budget character), --level word (text), "
    "--device cuda (character on a GPU), --target COLUMN or --forecast H (series)."
)
# The options that decide the kind of run; values are kept as text, since only their presence
# and a few of their values matter here.
KIND_OPTIONS = (
    "config",
    "label_column",
    "corpus",
    "condition_column",
    "level",
    "glob",
    "device",
    "target",
    "forecast",
)
KIND_PLAN = ("time", "steps", "epochs")


def field_type(annotation: str):
    """The argparse type of a field annotated ``int``, ``int | None`` or ``Optional[int]``."""
    name = annotation.removeprefix("Optional[").removesuffix("]").removesuffix(" | None")
    return TYPES[name]


def add_config_flags(
    parser: argparse.ArgumentParser, cls, title: str, preset: dict | None = None
) -> None:
    """One flag per dataclass field; unset flags stay out of the namespace (SUPPRESS). The help
    shows the ``preset`` value where it has one, else the field's default."""
    group = parser.add_argument_group(title)
    for field in dataclasses.fields(cls):
        meta = field.metadata
        if meta.get("cli", True) is False:
            continue
        flags = ["--" + field.name.replace("_", "-")] + ([meta["flag"]] if "flag" in meta else [])
        default = field.default if field.default is not dataclasses.MISSING else None
        default = (preset or {}).get(field.name, default)
        help_text = meta.get("help", "") + ("" if default is None else f" (default: {default})")
        if field.type == "bool":
            group.add_argument(
                *flags,
                dest=field.name,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=help_text,
            )
        else:
            group.add_argument(
                *flags,
                dest=field.name,
                type=field_type(str(field.type)),
                choices=meta.get("choices"),
                default=argparse.SUPPRESS,
                help=help_text,
                metavar=field.name.upper(),
            )


def add_train_command(commands, kind: str | None = None) -> argparse.ArgumentParser:
    """The ``train`` subcommand; its help shows the defaults of ``kind`` (dataclass defaults
    when None)."""
    preset = dict(presets.PRESETS[kind]) if kind else {}
    if kind and "steps" not in preset and "epochs" not in preset:
        preset["time"] = f"{presets.DEFAULT_BUDGET} when no --steps or --epochs is given"
    description = TRAIN_DESCRIPTION
    if kind:
        description += f" Defaults shown: a {kind} run; {OTHER_KINDS}"
    train = commands.add_parser(
        "train", help="train a language model or a text classifier", description=description
    )
    train.add_argument(
        "paths", nargs="*", metavar="PATH", help="text, CSV/JSONL or MIDI files, or folders"
    )
    train.add_argument("--resume", metavar="RUN", help="continue a run exactly where it stopped")
    train.add_argument("--config", metavar="FILE", help="JSON file with model/data/train sections")
    train.add_argument("--quiet", action="store_true", help="print nothing while training")
    add_config_flags(train, ModelConfig, "model", preset)
    add_config_flags(train, DataConfig, "data", preset)
    add_config_flags(train, TrainConfig, "training", preset)
    add_config_flags(
        train, ClassifierConfig, "classifiers (with --label-column, or --corpus kjv-genres)", preset
    )
    add_config_flags(train, SeriesConfig, "numeric sequences (with --target or --forecast)", preset)
    return train


class _Prescan(argparse.ArgumentParser):
    """Reads what it can of the arguments and never exits: --help must show whatever happens."""

    def error(self, message):
        raise RecurError(message)


def help_kind(argv: list[str]) -> str | None:
    """The kind of run ``recur train ... --help`` asks about (None unless help is asked for)."""
    if "train" not in argv or not {"-h", "--help"} & set(argv):
        return None
    # Only a help request pays for the data readers (numpy) that tell the kinds apart.
    from recur.runs.configs import run_kind

    prescan = _Prescan(add_help=False)
    prescan.add_argument("paths", nargs="*")
    prescan.add_argument("--midi", action=argparse.BooleanOptionalAction)
    types = {
        f.name: field_type(str(f.type))
        for cls in (ModelConfig, DataConfig, TrainConfig, ClassifierConfig, SeriesConfig)
        for f in dataclasses.fields(cls)
        if f.name in KIND_OPTIONS + KIND_PLAN and str(f.type) not in ("bool", "list")
    }
    for name in KIND_OPTIONS + KIND_PLAN:  # typed as the flags are, so the checks accept them
        prescan.add_argument("--" + name.replace("_", "-"), dest=name, type=types.get(name, str))
    try:
        known, _ = prescan.parse_known_args(argv[argv.index("train") + 1 :])
    except RecurError:
        return run_kind({})
    options = {k: v for k, v in vars(known).items() if v not in (None, [])}
    config = options.pop("config", None)
    # Unreadable inputs or config file (or an unknown flag's value taken for a path) are read
    # past: the next attempt leaves them out.
    without_paths = {k: v for k, v in options.items() if k != "paths"}
    for attempt, file in ((options, config), (without_paths, config), (without_paths, None)):
        try:
            return run_kind(attempt, file)
        except RecurError:
            continue
    return run_kind({})


def join_negative_values(argv: list[str]) -> list[str]:
    """'--transpose -5..6' -> '--transpose=-5..6': argparse takes '-5..6' for an option."""
    out: list[str] = []
    for arg in argv:
        if (
            out
            and out[-1].startswith("--")
            and "=" not in out[-1]
            and re.fullmatch(r"-\d+\.\.-?\d+", arg)
        ):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out
