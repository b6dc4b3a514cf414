"""The parabolas corpus: synthetic numeric sequences for the regression exercise (a network reads
the y values of a parabola and predicts its coefficients), generated from a fixed seed."""

from __future__ import annotations

import numpy as np

POINTS = 32
COUNT = 2000


def parabolas(count: int = COUNT, points: int = POINTS, seed: int = 0) -> list[dict]:
    """Wide rows: ``id``, the coefficients ``a``, ``b``, ``c`` (uniform in [-1, 1]) and
    ``y00``... the values a x^2 + b x + c at ``points`` evenly spaced x in [-1, 1], with a
    little noise (deviation 0.01)."""
    generator = np.random.default_rng(seed)
    coefficients = generator.uniform(-1, 1, size=(count, 3))
    x = np.linspace(-1, 1, points)
    values = coefficients[:, :1] * x**2 + coefficients[:, 1:2] * x + coefficients[:, 2:]
    values = values + generator.normal(0, 0.01, size=values.shape)
    width = len(str(points - 1))
    rows = []
    for index in range(count):
        row: dict = {"id": f"p{index}"}
        row.update(zip("abc", coefficients[index].round(6).tolist()))
        row.update({f"y{j:0{width}d}": round(float(v), 6) for j, v in enumerate(values[index])})
        rows.append(row)
    return rows
