"""The report as one self-contained HTML file: the findings as a JSON block, unit activations
quantised to one signed byte each (base64), and the inline script and style of ``page_script``.
Nothing is fetched from the network, so the file opens offline.

A long text on a wide model has more activations than a page should carry, so the page carries
every unit only while tokens x units fits ``max_values``; otherwise the discovered units, the
first units of each layer's states and the units asked for with ``--units``."""

from __future__ import annotations

import base64
import html
import json

import numpy as np

from recur.errors import RecurError
from recur.inspect.page_script import SCRIPT, STYLE

FIRST_UNITS = 16  # per layer and state, when not every unit fits


def requested_units(text: str, names: list[str]) -> list[str]:
    """``--units 1:c:17,0:h:3`` -> the unit names, each checked against the model's."""
    chosen = [part.strip() for part in (text or "").split(",") if part.strip()]
    known = set(names)
    for name in chosen:
        if name not in known:
            example = names[0] if names else "0:h:0"
            raise RecurError(
                f"--units {name}: no such unit; give LAYER:STATE:UNIT such as {example}"
            )
    return chosen


def carried_units(names: list[str], steps: int, discovered: list[dict], config) -> list[str]:
    """The unit names whose activations the page carries (see the module docstring)."""
    extra = requested_units(config.units, names)
    if steps * len(names) <= config.max_values:
        return names
    chosen = dict.fromkeys(u["unit"] for entry in discovered for u in entry["units"])
    budget = max(0, config.max_values // max(steps, 1) - len(chosen) - len(extra))
    first = [n for n in names if int(n.rsplit(":", 1)[1]) < FIRST_UNITS][:budget]
    return list(dict.fromkeys([*chosen, *extra, *first]))


def quantise(values: np.ndarray) -> dict:
    """A unit's activations -> {scale, data}: int8 of values / scale * 127, base64."""
    scale = float(np.abs(values).max()) if values.size else 0.0
    scale = scale if scale > 0 else 1.0
    codes = np.clip(np.round(values / scale * 127), -127, 127).astype(np.int8)
    return {"scale": scale, "data": base64.b64encode(codes.tobytes()).decode("ascii")}


def activations(payload: dict | None, discovered: list[dict], config) -> dict:
    """The ``activations`` entry of the page: unit name -> quantised values."""
    if not payload or not payload.get("names"):
        return {}
    units, names = payload["units"], payload["names"]
    column = {name: i for i, name in enumerate(names)}
    chosen = carried_units(names, units.shape[0], discovered, config)
    return {name: quantise(units[:, column[name]]) for name in chosen}


def render(findings: dict, payload: dict | None, config, title: str) -> str:
    """The whole page as a string."""
    data = {**findings, "activations": activations(payload, findings.get("discovery", []), config)}
    blob = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    summary = _summary(findings)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{STYLE}</style></head><body>
<h1>recur inspect: {html.escape(title)}</h1>
<p>{summary}</p>
<section id="classes" style="display:none"><h2>Classes and word contributions</h2>
<div id="classinfo"></div><p class="muted">Green words raised the predicted class, red ones
lowered it (occlusion: each word removed in turn).</p><div class="text" id="words"></div></section>
<section id="textview"><h2>Surprise</h2><p class="muted">Each token coloured by the model's
surprise at it (darker: more bits); hover for the five most likely next tokens.</p>
<div class="text" id="surprise"></div></section>
<section id="music" style="display:none"><h2>Piano roll</h2><p class="muted">Notes coloured by
surprise.</p><div id="roll"></div></section>
<section id="conditions" style="display:none"><h2>Conditions</h2><p class="muted">The same
text's surprise under each condition value, and the words it makes most expected (fall in
bits against the other values).</p><div id="condinfo"></div></section>
<section id="browser" style="display:none"><h2>Unit browser</h2>
<p>layer <select id="layer"></select> state <select id="state"></select>
unit <select id="unit"></select> <b id="unitname"></b></p><p class="muted">Red: positive
activation, blue: negative (scaled by the unit's largest magnitude).</p>
<div class="text" id="units"></div></section>
<section><h2>Discovery</h2><p class="muted">Units most correlated with simple features of the
text (Pearson r over the tokens); click a unit to colour the text by it.</p>
<div class="cols" id="discovery"></div></section>
<section><h2>Gate saturation</h2><p class="muted">Per unit, the fraction of steps its gate is
left-saturated (&lt; {config.saturation:g}) against right-saturated
(&gt; {1 - config.saturation:g}), as in Karpathy, Johnson and Fei-Fei (2015).</p>
<div class="cols" id="gates"></div></section>
<div id="tip"></div>
<script type="application/json" id="data">{blob}</script>
<script>{SCRIPT}</script></body></html>
"""


def _summary(findings: dict) -> str:
    parts = [f"kind {html.escape(str(findings.get('kind', '')))}"]
    if findings.get("cell"):
        parts.append(
            f"{findings['num_layers']}x{findings['hidden_size']} {findings['cell'].upper()}"
        )
    if "tokens" in findings:
        parts.append(f"{len(findings['tokens']):,} tokens")
    if "mean_surprise" in findings:
        parts.append(f"mean surprise {findings['mean_surprise']:.3f} bits/token")
    if "check" in findings:
        parts.append(f"gates recomputed to within {findings['check']['max_error']:.1e}")
    return ", ".join(parts)
