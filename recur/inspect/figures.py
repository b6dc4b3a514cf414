"""``--png``: the report's findings as figures for documents (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recur.extras import pyplot


def write_figures(findings: dict, payload: dict | None, directory: Path) -> list[str]:
    """Write every figure the findings allow into ``directory``; returns their paths."""
    plt = pyplot()
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in (
        ("gates.png", _gates),
        ("discovery.png", _discovery),
        ("surprise.png", _surprise),
        ("words.png", _words),
    ):
        figure = draw(plt, findings)
        if figure is not None:
            figure.savefig(directory / name, dpi=110, bbox_inches="tight")
            plt.close(figure)
            written.append(str(directory / name))
    return written


def _gates(plt, findings: dict):
    layers = [layer for layer in findings.get("gates", []) if layer["gates"]]
    if not layers:
        return None
    figure, axes = plt.subplots(1, len(layers), figsize=(3.6 * len(layers), 3.4), squeeze=False)
    for axis, layer in zip(axes[0], layers):
        for gate, stats in layer["gates"].items():
            axis.scatter(stats["left"], stats["right"], s=6, alpha=0.5, label=gate)
        axis.plot([0, 1], [1, 0], color="#bbb", linewidth=0.8)
        axis.set(xlim=(0, 1), ylim=(0, 1), title=f"layer {layer['layer']} ({layer['cell']})")
        axis.set(xlabel="fraction left-saturated", ylabel="fraction right-saturated")
        axis.legend(fontsize=7)
    return figure


def _discovery(plt, findings: dict):
    listed = [entry for entry in findings.get("discovery", []) if entry["units"]]
    if not listed:
        return None
    figure, axis = plt.subplots(figsize=(6, 0.35 * len(listed) + 1))
    values = [abs(entry["units"][0]["r"]) for entry in listed]
    axis.barh(range(len(listed)), values, color="#47a")
    labels = [f"{entry['feature']} ({entry['units'][0]['unit']})" for entry in listed]
    axis.set_yticks(range(len(listed)), labels, fontsize=8)
    axis.set(xlim=(0, 1), xlabel="|r| of the most correlated unit")
    axis.invert_yaxis()
    return figure


def _surprise(plt, findings: dict):
    bits = np.asarray(findings.get("surprise", []), dtype=float)
    if not bits.size:
        return None
    window = max(1, bits.size // 200)
    smooth = np.convolve(bits, np.ones(window) / window, mode="valid")
    figure, axis = plt.subplots(figsize=(7, 2.6))
    axis.plot(smooth, linewidth=0.8)
    axis.set(xlabel="token", ylabel="bits", title=f"surprise (mean over {window} tokens)")
    return figure


def _words(plt, findings: dict):
    classifier = findings.get("classifier")
    if not classifier or not classifier["words"]:
        return None
    words = sorted(classifier["words"], key=lambda w: -abs(w["score"]))[:15][::-1]
    figure, axis = plt.subplots(figsize=(6, 0.3 * len(words) + 1))
    scores = [w["score"] for w in words]
    axis.barh(range(len(words)), scores, color=["#2a5" if s >= 0 else "#c33" for s in scores])
    axis.set_yticks(range(len(words)), [w["text"] for w in words], fontsize=8)
    axis.set(xlabel=f"contribution to {classifier['class']}")
    return figure
