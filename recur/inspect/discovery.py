"""Automatic discovery: every unit's correlation with every feature, the top units per feature,
and the gate saturation statistics per layer (Karpathy, Johnson and Fei-Fei 2015, figure 3).

A unit is named ``LAYER:STATE:INDEX`` (``1:c:17``: layer 1's cell state, unit 17), the form
``--units`` takes. The correlation is Pearson's r over the tokens where the feature is defined,
all units at once as one matrix product of standardised columns."""

from __future__ import annotations

import numpy as np

MIN_TOKENS = 20  # fewer tokens than this make any r meaningless (two tokens give |r| = 1)


def unit_matrix(layers) -> tuple[np.ndarray, list[str]]:
    """Every state of every layer side by side: (T, U) float32 and the U unit names."""
    blocks, names = [], []
    for layer in layers:
        for state, values in layer.states.items():
            blocks.append(values)
            names += [f"{layer.name}:{state}:{i}" for i in range(values.shape[1])]
    if not blocks:
        return np.zeros((0, 0), np.float32), []
    return np.concatenate(blocks, axis=1).astype(np.float32, copy=False), names


def correlations(features: dict, units: np.ndarray) -> dict[str, np.ndarray]:
    """Feature name -> (U,) Pearson r of each unit with it; features constant over the text
    (nothing to correlate with) are left out. r = sum((f - mean f) a) / (|f - mean f| |a - mean a|),
    with the unit norms from column sums, so the (T, U) matrix is never copied."""
    result = {}
    everywhere = _unit_norms(units)
    for name, values in features.items():
        defined = ~np.isnan(values)
        if defined.sum() < MIN_TOKENS or np.nanstd(values) == 0:
            continue
        rows = units if defined.all() else units[defined]
        norms = everywhere if defined.all() else _unit_norms(rows)
        centred = (values[defined] - values[defined].mean()).astype(np.float32)
        covariance = centred @ rows  # (U,): the centring of a drops out against a centred f
        scale = np.linalg.norm(centred) * norms
        result[name] = np.where(scale > 0, covariance / np.where(scale > 0, scale, 1), 0.0).astype(
            np.float32
        )
    return result


def _unit_norms(units: np.ndarray) -> np.ndarray:
    """(U,) |a - mean a| of each column, from its sum and sum of squares (in float64)."""
    total = units.sum(axis=0, dtype=np.float64)
    squares = np.einsum("tu,tu->u", units, units, dtype=np.float64)
    return np.sqrt(np.maximum(squares - total * total / max(units.shape[0], 1), 0.0))


def top_units(correlation: dict[str, np.ndarray], names: list[str], count: int) -> list[dict]:
    """Per feature, the ``count`` units with the largest |r|, strongest first."""
    listed = []
    for feature, r in correlation.items():
        order = np.argsort(-np.abs(r))[:count]
        listed.append(
            {
                "feature": feature,
                "units": [{"unit": names[i], "r": round(float(r[i]), 4)} for i in order],
            }
        )
    return listed


def gate_statistics(layers) -> list[dict]:
    """Per layer and gate: each unit's fraction of steps left-saturated and right-saturated,
    and their means over the layer."""
    summary = []
    for layer in layers:
        gates = {
            gate: {
                "left": np.round(left, 4).tolist(),
                "right": np.round(right, 4).tolist(),
                "mean_left": round(float(left.mean()), 4),
                "mean_right": round(float(right.mean()), 4),
            }
            for gate, (left, right) in layer.gates.items()
        }
        summary.append({"layer": layer.name, "cell": layer.cell, "gates": gates})
    return summary
