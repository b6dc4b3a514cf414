"""The ``recur`` command: a thin shell over the library. Flags come from the config dataclasses
(``cli_options.py``, which also makes ``recur train --help`` show the defaults of the kind of run
asked for). Only torch-free modules (config, the run-config resolver) are imported at start, so
``recur --help`` never loads torch; each command imports what it needs.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import sys

from recur.cli_errors import DEBUG_FLAG, DEBUG_HELP, Parser, debug_wanted, guarded
from recur.cli_options import add_config_flags, add_train_command, help_kind, join_negative_values
from recur.cli_terminal import add_output_flags, print_as_made
from recur.config.evaluate_options import EvaluateConfig
from recur.config.options import (
    DEVICE_HELP,
    ClassifierConfig,
    DataConfig,
    ModelConfig,
    MusicConfig,
    SampleConfig,
    TrainConfig,
)
from recur.config.series_options import SeriesConfig
from recur.errors import RecurError
from recur.kernels import set_portable


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = Parser(
        prog="recur", description="Train and sample recurrent neural networks on text and music."
    )
    parser.add_argument(
        "--portable",
        action="store_true",
        help="plain PyTorch only: no oneDNN, int8 or allocator kernels, no hand-written CPU GRU "
        "(as RECUR_PORTABLE=1)",
    )
    parser.add_argument(DEBUG_FLAG, action="store_true", help=DEBUG_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    add_train_command(commands, help_kind(argv or []))
    _add_generate_command(commands)
    _add_evaluate_command(commands)
    _add_predict_command(commands)
    commands.add_parser("corpora", help="list the built-in corpora")
    info = commands.add_parser("info", help="show a run's settings, conditions and their values")
    info.add_argument("run", metavar="RUN")
    for name in COMMAND_MODULES:
        importlib.import_module(f"recur.cli_{name}").add_command(commands)
    return parser


# Commands that live in a module of their own, recur/cli_NAME.py, which defines
# add_command(commands) (torch-free: it runs for every --help) and run(args).
COMMAND_MODULES: tuple[str, ...] = ("serve", "inspect", "export", "series")


def _add_generate_command(commands) -> None:
    generate = commands.add_parser("generate", help="sample text from a trained run")
    generate.add_argument("run", metavar="RUN", help="run directory, or its best/ or last/")
    add_config_flags(generate, SampleConfig, "sampling")
    add_config_flags(generate, MusicConfig, "music (runs trained on MIDI)")
    generate.add_argument("--device", default="auto", help=DEVICE_HELP + " (default: auto)")
    generate.add_argument(
        "--threads",
        type=int,
        help="CPU threads (default: one for up to 4 "
        "streams, which is faster there; else all cores)",
    )
    add_output_flags(generate)  # --json, --interactive


def _add_evaluate_command(commands) -> None:
    evaluate = commands.add_parser(
        "evaluate",
        help="loss, perplexity and bits/char on a text; a classifier's report on a labelled file",
    )
    evaluate.add_argument("run", metavar="RUN")
    evaluate.add_argument(
        "file",
        metavar="FILE",
        help="a text file, a MIDI file/folder for music, or a labelled CSV/JSONL for a classifier",
    )
    evaluate.add_argument(
        "--group-by",
        metavar="COLUMN",
        help="classifiers: also report per value of this column (years grouped by decade)",
    )
    evaluate.add_argument("--encoding", default="utf-8")
    evaluate.add_argument("--device", default="auto", help=DEVICE_HELP + " (default: auto)")
    evaluate.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    evaluate.add_argument("--json", action="store_true", help="print JSON")
    add_config_flags(evaluate, EvaluateConfig, "language models: adapting to the text")


def _add_predict_command(commands) -> None:
    predict = commands.add_parser("predict", help="a classifier's predictions for a CSV/JSONL")
    predict.add_argument("run", metavar="RUN")
    predict.add_argument("file", metavar="FILE", help="CSV or JSONL file with the text column(s)")
    predict.add_argument(
        "--out",
        required=True,
        help="CSV (or .jsonl) to write: the input's "
        "columns, predicted, dropped, and p_<class> for every class",
    )
    predict.add_argument("--device", default="auto", help=DEVICE_HELP + " (default: auto)")
    predict.add_argument("--threads", type=int, help="CPU threads (default: all cores)")


def options_of(namespace: argparse.Namespace, *classes) -> dict:
    names = {f.name for cls in classes for f in dataclasses.fields(cls)}
    return {k: v for k, v in vars(namespace).items() if k in names}


def run_train(args) -> None:
    from recur import api

    options = options_of(args, ModelConfig, DataConfig, TrainConfig, ClassifierConfig, SeriesConfig)
    model = api.train(
        *args.paths, resume=args.resume, config=args.config, quiet=args.quiet, **options
    )
    if os.environ.get("RANK", "0") == "0":
        action = _kind(model).action
        print(
            f"saved {model.path.parent}  (try: recur {action} {model.path.parent}"
            + (" FILE.csv --out predictions.csv)" if action == "predict" else ")")
        )


def _kind(model):
    """The kind of a loaded run (runs/kinds.py): what it is for, and what the CLI does with it."""
    from recur.runs.kinds import KINDS

    return KINDS[model.bundle.kind]


def set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def run_generate(args) -> None:
    from recur import api

    set_threads(args.threads or _generation_threads(args))
    model = api.load(args.run, device=args.device)
    if _kind(model).action != "generate":
        raise RecurError(f"{args.run} is a classifier: use recur predict or recur evaluate")
    if model.is_music or options_of(args, MusicConfig):
        written = model.generate_midi(**options_of(args, SampleConfig, MusicConfig))
        if args.json:
            print(json.dumps(written))
        for entry in written:
            print(
                f"wrote {entry['midi']} ({entry['events']} events, {entry['notes']} notes, "
                f"{entry['seconds']:.1f} s) and "
                f"{entry['png']}" + (f" and {entry['wav']}" if "wav" in entry else ""),
                file=sys.stderr if args.json else sys.stdout,
            )
        print(f"(seed {written[0]['seed']})", file=sys.stderr)
        return
    if print_as_made(model, options_of(args, SampleConfig), args.interactive, args.json):
        return  # one plain sample, printed as it is made (cli_terminal.py)
    result = model.generate_full(**options_of(args, SampleConfig))
    if args.json:
        payload = {"samples": result.texts, "seed": result.seed}
        if result.conditions:
            payload["conditions"] = result.conditions
        if result.novelty is not None:
            payload["novelty"] = result.novelty
        print(json.dumps(payload, ensure_ascii=False))
        return
    conditions = result.conditions or [{}] * len(result.texts)
    for index, text in enumerate(result.texts):
        if len(result.texts) > 1:
            shown = ", ".join(f"{k}={v}" for k, v in conditions[index].items())
            print(f"--- sample {index + 1}{' (' + shown + ')' if shown else ''} ---")
        print(text)
    print(f"(seed {result.seed})", file=sys.stderr)
    if result.novelty is not None:
        novelty = result.novelty
        print(
            f"novelty: {novelty['novel']} of {novelty['outputs']} outputs are not among the "
            f"training documents ({novelty['novel_share']:.0%})",
            file=sys.stderr,
        )


def _generation_threads(args) -> int | None:
    """Without --threads, a CPU run stepping few streams uses one thread (generate.py says why)."""
    import torch

    from recur.generate.loop import sampling_threads
    from recur.runs.devices import AUTO, device_name

    device = device_name(AUTO) if args.device == AUTO else args.device
    if device != "cpu" or getattr(args, "guidance", 0):
        return None

    streams = getattr(args, "num_samples", 1) * max(getattr(args, "beam", 0), 1)
    return sampling_threads(streams, torch.get_num_threads())


def run_evaluate(args) -> None:
    from recur import api
    from recur.cli_reports import evaluate_classifier, print_language_model_evaluation

    set_threads(args.threads)
    model = api.load(args.run, device=args.device)
    if _kind(model).name == "series":
        from recur.cli_series import evaluate

        return evaluate(model, args)
    if _kind(model).name == "classifier":
        return evaluate_classifier(model, args)
    if args.group_by:
        raise RecurError("--group-by is for classifier runs")
    result = model.evaluate(
        path=args.file, encoding=args.encoding, **options_of(args, EvaluateConfig)
    )
    print_language_model_evaluation(result, args.json)


def run_predict(args) -> None:
    from recur import api

    set_threads(args.threads)
    model = api.load(args.run, device=args.device)
    if _kind(model).action != "predict":
        raise RecurError(f"{args.run}: not a classifier run; predict needs one")
    if _kind(model).name == "series":
        from recur.cli_series import predict

        return predict(model, args)
    result = model.predict_file(args.file, args.out)
    print(
        f"wrote {result['out']}: {result['rows']:,} rows, {result['predicted']:,} predicted, "
        f"{result['dropped']:,} marked as dropped by the run's preprocessing"
    )


def run_corpora(args) -> None:
    from recur.data.corpora import CORPORA

    for corpus in CORPORA.values():
        print(f"{corpus.name:8} {corpus.description}; licence: {corpus.licence}")


def run_info(args) -> None:
    from recur.runs.checkpoint import read_json, resolve
    from recur.runs.kinds import kind_of

    directory = resolve(args.run)
    config = read_json(directory / "config.json")
    tokenizer = directory / "tokenizer.json"
    tokenizer_type = read_json(tokenizer).get("type", "") if tokenizer.is_file() else ""
    config = {"kind": kind_of(config, tokenizer_type).name, **config}  # older runs: inferred
    conditions = config.get("data", {}).get("conditions") or {}
    shown = {"conditions": conditions, **config} if conditions else config
    print(json.dumps(shown, indent=2, ensure_ascii=False))


COMMANDS = {
    "train": run_train,
    "generate": run_generate,
    "evaluate": run_evaluate,
    "predict": run_predict,
    "corpora": run_corpora,
    "info": run_info,
}


def main(argv=None) -> int:
    """Run the command; the exit code: 0, 1 (data or run error), 2 (usage error), 130 (Ctrl-C)."""
    argv = join_negative_values(list(sys.argv[1:] if argv is None else argv))
    debug, argv = debug_wanted(argv)
    args = build_parser(argv).parse_args(argv)
    if args.portable:
        set_portable()
    command = COMMANDS.get(args.command)
    if command is None:
        command = importlib.import_module(f"recur.cli_{args.command}").run
    return guarded(command, args, debug)
