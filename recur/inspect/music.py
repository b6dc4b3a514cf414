"""Inspecting a music run on a MIDI file: the piano roll coloured by the model's surprise at each
note, and the units tied to pitch, the position in the beat and bar, and chord changes."""

from __future__ import annotations

import numpy as np
import torch

from recur.config.inspect_options import InspectConfig
from recur.config.options import DataConfig, from_dict
from recur.data.midi_files import quantize
from recur.data.pieces import read_pieces
from recur.errors import RecurError
from recur.inspect.capture import capture_lm, check
from recur.inspect.discovery import correlations, gate_statistics, top_units, unit_matrix
from recur.inspect.surprise import surprise


def event_features(tokenizer, ids: list[int]) -> tuple[dict, list]:
    """Per event token: the features, and the notes as (onset step, duration, pitch, token)."""
    steps_per_beat = tokenizer.steps_per_beat
    clock, duration, notes = 0, 1, []
    pitch, beat, bar, change = (np.full(len(ids), np.nan) for _ in range(4))
    group: set[int] = set()
    previous_set: frozenset | None = None
    group_start = 0
    for index, token in enumerate(ids):
        kind, _, value = tokenizer.symbols[token].partition(":")
        if kind == "wait":
            if group:
                previous_set, group = frozenset(group), set()
            clock += int(value)
        elif kind == "dur":
            duration = int(value)
        elif kind == "note":
            if not group:
                group_start = index
            group.add(int(value) % 12)
            pitch[index] = int(value)
            notes.append((clock, duration, int(value), index))
            change[index] = 0.0
            change[group_start] = float(
                previous_set is not None and previous_set != frozenset(group)
            )
        beat[index] = clock % steps_per_beat
        bar[index] = (clock // steps_per_beat) % 4
    features = {
        "pitch": pitch,
        "position in beat": beat,
        "beat in bar": bar,
        "chord change": change,
    }
    return {k: v.astype(np.float32) for k, v in features.items()}, notes


def inspect_music(bundle, path: str, config: InspectConfig) -> tuple[dict, dict]:
    tokenizer = bundle.tokenizer
    data = from_dict(
        DataConfig,
        {**bundle.config.get("data", {}), "paths": [str(path)], "corpus": None, "transpose": "0"},
    )
    pieces, _ = read_pieces(data)
    if not pieces:
        raise RecurError(f"{path}: no MIDI piece with notes to inspect")
    ids = tokenizer.encode_notes(quantize(pieces[0].notes, tokenizer.steps_per_beat))
    ids = [int(i) for i in ids if int(i) not in (tokenizer.bos_id, tokenizer.eos_id)]
    model = bundle.model.eval()
    sequence = torch.tensor([tokenizer.bos_id] + ids, device=next(model.parameters()).device)
    layers, top = capture_lm(model, sequence, config.saturation)
    for layer in layers:
        layer.states = {name: values[1:] for name, values in layer.states.items()}
    predicted = surprise(model, top[:-1], sequence[1:])
    features, notes = event_features(tokenizer, ids)
    units, names = unit_matrix(layers)
    correlation = correlations(features, units)
    bits = predicted["bits"]
    symbols = {i: tokenizer.symbols[i] for i in np.unique(predicted["top_ids"]).tolist()}
    findings = {
        "kind": "music",
        "cell": layers[0].cell,
        "num_layers": len(layers),
        "hidden_size": int(units.shape[1] // max(1, sum(len(x.states) for x in layers))),
        "tokens": [tokenizer.symbols[i] + " " for i in ids],
        "surprise": np.round(bits, 3).tolist(),
        "mean_surprise": round(float(bits.mean()), 4),
        "top5": [
            [[symbols[int(i)], round(float(p), 4)] for i, p in zip(row_i, row_p)]
            for row_i, row_p in zip(predicted["top_ids"], predicted["top_probs"])
        ],
        "music": {"notes": [[o, d, p, round(float(bits[i]), 3)] for o, d, p, i in notes]},
        "discovery": top_units(correlation, names, config.top_units),
        "absent_features": sorted(set(features) - set(correlation)),
        "gates": gate_statistics(layers),
        "check": check(layers),
    }
    return findings, {"units": units, "names": names, "correlation": correlation}
