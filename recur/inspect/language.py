"""Inspecting a language model on a text: states and gates of every layer in one pass, surprise
and top-5 predictions per token, discovery of the units that track simple features."""

from __future__ import annotations

import numpy as np
import torch

from recur.config.inspect_options import InspectConfig
from recur.inspect.capture import capture_lm, check
from recur.inspect.discovery import correlations, gate_statistics, top_units, unit_matrix
from recur.inspect.features import token_features, token_spans
from recur.inspect.surprise import surprise


def start_tokens(bundle) -> list[int]:
    """What the model reads before the text, so its first token is predicted too: a document
    model's ``<bos>``, else a line end (as generation starts), else ``<bos>``."""
    tokenizer = bundle.tokenizer
    documents = bundle.config.get("data", {}).get("documents", "none") not in ("none", "auto")
    index = getattr(tokenizer, "index", {})
    if not documents and "\n" in index:
        return [index["\n"]]
    return [tokenizer.bos_id]


def display_tokens(text: str, spans: list[tuple[int, int]]) -> list[str]:
    """Each token's text with the gap before it, so the pieces join back into ``text``."""
    pieces, position = [], 0
    for index, (_, end) in enumerate(spans):
        end = len(text) if index == len(spans) - 1 else max(end, position)
        pieces.append(text[position:end])
        position = end
    return pieces


def inspect_lm(bundle, text: str, config: InspectConfig) -> tuple[dict, dict]:
    """(findings, activations): the findings as plain data; the (T, U) unit matrix and the unit
    names, which the HTML writer carries in part."""
    model, tokenizer = bundle.model.eval(), bundle.tokenizer
    ids = [int(i) for i in tokenizer.encode_array(text)]
    start = start_tokens(bundle)
    device = next(model.parameters()).device
    sequence = torch.tensor(start + ids, device=device)
    layers, top = capture_lm(model, sequence, config.saturation)
    for layer in layers:
        layer.states = {name: values[len(start) :] for name, values in layer.states.items()}
    predicted = surprise(model, top[len(start) - 1 : -1], sequence[len(start) :])
    spans = token_spans(tokenizer, text, ids)
    features = token_features(text, spans, words=getattr(tokenizer, "kind", "") != "char")
    units, names = unit_matrix(layers)
    correlation = correlations(features, units)
    symbols = {i: tokenizer.decode([i]) for i in np.unique(predicted["top_ids"]).tolist()}
    findings = {
        "kind": bundle.kind,
        "cell": layers[0].cell if layers else "",
        "num_layers": len(layers),
        "hidden_size": int(units.shape[1] // max(1, sum(len(x.states) for x in layers))),
        "tokens": display_tokens(text, spans),
        "surprise": np.round(predicted["bits"], 3).tolist(),
        "mean_surprise": round(float(predicted["bits"].mean()), 4) if ids else 0.0,
        "top5": [
            [[symbols[int(i)], round(float(p), 4)] for i, p in zip(row_ids, row_p)]
            for row_ids, row_p in zip(predicted["top_ids"], predicted["top_probs"])
        ],
        "discovery": top_units(correlation, names, config.top_units),
        "absent_features": sorted(set(features) - set(correlation)),
        "gates": gate_statistics(layers),
        "check": check(layers),
    }
    return findings, {"units": units, "names": names, "correlation": correlation}
