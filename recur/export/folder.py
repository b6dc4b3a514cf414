"""``recur export``: a run -> an export folder (``model.onnx``, the run's ``tokenizer.json`` and
``config.json``, ``export.json`` with the checks' numbers, and a README of the graph's interface).

The graph is written to a temporary folder, checked against PyTorch (``check.py``), quantised
with ``--int8`` (``quantize.py``), and only then renamed into place: a graph that disagrees with
the trained model is never written.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from recur.config.export_options import ExportConfig
from recur.errors import RecurError
from recur.export import check, graph, readme, runtime, series_graph
from recur.export.quantize import quantize
from recur.extras import require
from recur.runs.checkpoint import load, resolve

FP32_GRAPH = "model.fp32.onnx"


def default_out(run) -> Path:
    """RUN/export-onnx (beside best/ and last/ when given a checkpoint inside a run)."""
    checkpoint = resolve(run)
    directory = checkpoint.parent if checkpoint.name in ("best", "last") else checkpoint
    return directory / "export-onnx"


def export_run(run, options: ExportConfig | None = None, say: Callable = print) -> Path:
    """Export the run at ``run`` as ``options`` say; returns the folder written."""
    options = options or ExportConfig()
    if options.format not in ("onnx",):
        raise RecurError(f"--format {options.format!r}: recur exports onnx only")
    require("onnx", "export", "recur export")
    require("onnxruntime", "export", "recur export")
    bundle = load(run)
    cell = bundle.config.get("model", {}).get("cell", "")
    reason = graph.refusal(bundle.kind, bundle.path, options.rnn_only, cell)
    if reason:
        raise RecurError(f"{run}: cannot export this {bundle.kind} run: {reason}")
    series_graph.refuse_int8(bundle.kind, options.int8)
    out = Path(options.out) if options.out else default_out(run)
    if out.exists() and any(out.iterdir()) and not (out / "export.json").is_file():
        raise RecurError(f"--out {out}: the folder exists and is no export folder; choose another")
    temporary = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    try:
        manifest = _write_graph(bundle, temporary, options, say)
        for name in ("tokenizer.json", "config.json"):
            shutil.copyfile(bundle.path / name, temporary / name)
        (temporary / "export.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        (temporary / "README.md").write_text(readme.text(manifest), encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(temporary, out)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return out


def _write_graph(bundle, folder: Path, options: ExportConfig, say: Callable) -> dict:
    """model.onnx in ``folder``, checked; returns the manifest (interface and numbers)."""
    fp32 = folder / FP32_GRAPH
    manifest: dict = {"format": "onnx", "kind": bundle.kind, "opset": graph.OPSET}
    manifest["precision"] = "int8" if options.int8 else "fp32"
    if bundle.kind == "classifier":
        graph.write_classifier_graph(bundle.model, fp32)
        manifest["inputs"] = [["ids", "int64", ["batch", "steps"]], ["lengths", "int64", ["batch"]]]
        manifest["outputs"] = [
            ["logits", "float32", ["batch", len(bundle.config["classifier"]["classes"])]]
        ]
    elif bundle.kind == "series":
        manifest["inputs"], manifest["outputs"] = series_graph.write_series_graph(bundle, fp32)
    else:
        specs = graph.write_language_graph(bundle.model, fp32)
        manifest["inputs"], manifest["outputs"] = readme.language_interface(bundle, specs)
    manifest.update(_checked(bundle, fp32, folder, options, say))
    if not options.int8:
        os.replace(fp32, folder / runtime.GRAPH)
    else:
        fp32.unlink()
    return manifest


def _checked(bundle, fp32: Path, folder: Path, options: ExportConfig, say: Callable) -> dict:
    """Compare the fp32 graph with PyTorch (refusing a disagreement); with ``--int8`` write the
    int8 graph and measure what it changes."""
    exported = runtime.load_model(fp32.parent, bundle.config, bundle.kind, fp32.name)
    language = bundle.kind not in ("classifier", "series")
    if bundle.kind == "series":
        difference, sample = series_graph.series_difference(bundle, exported)
    elif language:
        ids, source = check.validation_ids(bundle, options.check_tokens)
        difference = check.language_difference(bundle.model, exported, ids)
        sample = f"{min(len(ids), check.CHECK_TOKENS)} tokens of {source}"
    else:
        rows, source = check.classifier_ids(bundle), "texts"
        difference = check.classifier_difference(bundle.model, exported, rows)
        sample = f"{len(rows)} {source}"
    if difference > options.tolerance:
        raise RecurError(
            f"the ONNX graph disagrees with PyTorch: max logit difference {difference:.2e} on "
            f"{sample} is over --tolerance {options.tolerance:g}; nothing was written"
        )
    say(f"checked against PyTorch on {sample}: max logit difference {difference:.2e} (fp32)")
    result: dict = {"max_logit_difference": difference, "checked_on": sample}
    if not options.int8:
        return result
    target = folder / runtime.GRAPH
    quantize(fp32, target)
    int8 = runtime.load_model(folder, bundle.config, bundle.kind)
    sizes = fp32.stat().st_size, target.stat().st_size
    result["bytes"] = {"fp32": sizes[0], "int8": sizes[1]}
    shrink = (
        f"{sizes[0] / 1e6:.2f} MB -> {sizes[1] / 1e6:.2f} MB ({sizes[0] / sizes[1]:.1f}x smaller)"
    )
    if language:
        before, after = check.perplexity(exported, ids), check.perplexity(int8, ids)
        result["perplexity"] = {"fp32": before, "int8": after, "tokens": len(ids) - 1}
        change = f"{100 * (after / before - 1):+.2f}%"
        say(f"int8: {shrink}; perplexity on {len(ids) - 1} tokens of {source}: "
            f"{before:.4f} -> {after:.4f} ({change})")  # fmt: skip
    else:
        agreement = check.label_agreement(exported, int8, rows)
        result["label_agreement"] = agreement
        say(f"int8: {shrink}; the same label as fp32 on {agreement:.1%} of {sample}")
    return result
