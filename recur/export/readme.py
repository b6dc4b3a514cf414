"""The interface of an exported graph: its inputs and outputs as ``export.json`` lists them, and
the README.md written beside it, which says how to drive the graph without recur."""

from __future__ import annotations

from recur.export.graph import CONDITIONS

DTYPES = {"torch.float32": "float32", "torch.int64": "int64"}


def language_interface(bundle, specs) -> tuple[list, list]:
    """[name, dtype, shape] of a language model graph's inputs and outputs."""
    vocab = bundle.tokenizer.vocab_size
    inputs: list = [["ids", "int64", ["batch", "steps"]]]
    outputs: list = [["logits", "float32", ["batch", "steps", vocab]]]
    for spec in specs:
        shape: list = list(spec.shape)
        shape[spec.batch_axis] = "batch"
        dtype = DTYPES.get(str(spec.dtype), str(spec.dtype))
        inputs.append([spec.name, dtype, shape])
        outputs.append([f"new_{spec.name}", dtype, shape])
    return inputs, outputs


def _rows(entries: list) -> str:
    return "\n".join(
        f"| `{name}` | {dtype} | ({', '.join(map(str, shape))}) |" for name, dtype, shape in entries
    )


LANGUAGE = """Feed token ids and the state; take the logits and the new state. The inputs are the
token ids first, then the state tensors; the outputs are the logits first, then the new state
tensors in the same order. `batch` and `steps` are dynamic: one graph scores a whole text
(steps = its length) or samples one token at a time (steps = 1, the state carried from call to
call). A state of zeros is the start of a text.
"""
CONDITIONED = """This is a conditional model: `conditions` holds, per row, the condition (one per
column) in force, read from the condition tokens (such as `<genre=country>`) fed in `ids`; start
it at zeros like the other state tensors and carry it. A document starts with `<bos>` and its
condition tokens, as in training.
"""
CLASSIFIER = """Feed token ids padded with 0 on the right and each row's length; take the class
logits (the classes, in order, are `classifier.classes` in config.json). A text is cleaned and
cut as the run's config.json says (`data.lowercase`, `classifier.newlines`,
`classifier.max_tokens`, `classifier.truncate`) before it is encoded.
"""
TOKENS = """Token ids come from tokenizer.json: ids 0-3 are `<pad> <unk> <bos> <eos>`, then the
`conditions` tokens, then the `symbols` in order. A character model has one symbol per character;
a word model splits text as recur's word tokenizer does (`lowercase`, `split_punctuation`); a BPE
tokenizer.json holds the `tokenizers` library's own JSON. Sampling never draws `<pad>`, `<unk>`,
`<bos>` or a condition token (nor `<eos>`, except in document models). `recur generate` on this
folder samples through onnxruntime; docs/examples/onnx_generate.py in recur's repository does it
with onnxruntime and numpy alone.
"""
SERIES = """A numeric-sequence network (config.json `series`). classify / regress: feed
`inputs` padded with zeros on the right and each row's length; take the class logits (classes
in `series.class_names`) or the standardised targets (undo with `target_mean`, `target_std` of
tokenizer.json). Each step's features are the scaled values (`mode`, `mean`, `std` of
tokenizer.json), their step-to-step changes (`series.differences`), `series.frame` steps side
by side. forecast: feed each step's lagged values (`series.lags`), the position in the season
(sin, cos) and the covariates, in a window standardised by its own history; take each next
value's distribution (mean, scale, and degrees of freedom for a Student-t) and the new state;
draw a value, feed it back. `recur.series.forecast.sample_paths` is the reference loop. Then
spread the paths around their median by the calibrated factors before taking quantiles
(`series.horizon_scales`, one per step ahead, the last one for later steps; `series.interval_scale`
where that is empty; `recur.series.forecast.widen`): the network's own spread can be several
times too wide.
"""


def text(manifest: dict) -> str:
    """README.md of an export folder."""
    kind = manifest["kind"]
    names = [name for name, _, _ in manifest["inputs"]]
    parts = [
        f"# An exported recur {'classifier' if kind == 'classifier' else 'model'} (ONNX)\n",
        f"`model.onnx` (opset {manifest['opset']}, {manifest['precision']} weights) is the "
        f"trained {kind} run of config.json. Checked against PyTorch at export on "
        f"{manifest['checked_on']}: largest logit difference "
        f"{manifest['max_logit_difference']:.2e}.\n",
        "| input | type | shape |\n|---|---|---|\n" + _rows(manifest["inputs"]) + "\n",
        "| output | type | shape |\n|---|---|---|\n" + _rows(manifest["outputs"]) + "\n",
        {"classifier": CLASSIFIER, "series": SERIES}.get(kind, LANGUAGE),
    ]
    if CONDITIONS in names:
        parts.append(CONDITIONED)
    if kind != "series":
        parts.append(TOKENS)
    return "\n".join(parts)
