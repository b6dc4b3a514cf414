"""``recur export RUN --format onnx --out DIR [--int8]``: a trained run as an ONNX graph with its
tokenizer and config, checked against PyTorch before it is written (recur/export/)."""

from __future__ import annotations

import dataclasses
import json

from recur.cli_options import add_config_flags
from recur.config.export_options import ExportConfig
from recur.config.options import from_dict


def add_command(commands) -> None:
    export = commands.add_parser(
        "export", help="write a run as an ONNX graph that runs without recur or PyTorch"
    )
    export.add_argument("run", metavar="RUN", help="run directory, or its best/ or last/")
    add_config_flags(export, ExportConfig, "export")


def run(args) -> None:
    from recur.export.folder import export_run

    names = {field.name for field in dataclasses.fields(ExportConfig)}
    options = from_dict(ExportConfig, {k: v for k, v in vars(args).items() if k in names})
    out = export_run(args.run, options)
    kind = json.loads((out / "export.json").read_text(encoding="utf-8"))["kind"]
    try_it = {
        "classifier": f"recur predict {out} FILE.csv --out predictions.csv",
        "series": f"onnxruntime, as {out / 'README.md'} says",
    }.get(kind, f"recur generate {out}")
    print(f"wrote {out}  (try: {try_it})")
