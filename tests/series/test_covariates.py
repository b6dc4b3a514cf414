"""Forecasting with covariates: other columns read at every step, known into the horizon from
rows past the last value, stored in the run and needed again at prediction."""

import csv

import numpy as np
import pytest

import recur
from recur.errors import RecurError

TINY = dict(hidden_size=16, batch_size=16, threads=1, quiet=True, warmup_steps=2, lr=0.02)


def promoted_sales(path, length=160, future=0, seed=0):
    """Sales that jump by 3 on promotion days (a random 0/1 covariate): unpredictable from the
    past of the sales alone, exact given the promotion."""
    rng = np.random.default_rng(seed)
    promotion = rng.integers(0, 2, length + future)
    sales = 10 + 3 * promotion[:length] + rng.normal(0, 0.2, length)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["day", "sales", "promotion"])
        for t in range(length + future):
            writer.writerow([t, f"{sales[t]:.4f}" if t < length else "", promotion[t]])
    return str(path)


def test_a_covariate_the_target_depends_on_beats_the_run_without_it(tmp_path):
    data = promoted_sales(tmp_path / "s.csv")
    options = dict(forecast=6, time_column="day", steps=150, sample_paths=50, **TINY)
    plain = recur.train(data, value_columns="sales", out=str(tmp_path / "plain"), **options)
    model = recur.train(data, covariates="promotion", out=str(tmp_path / "cov"), **options)
    assert model.series.covariate_columns == ["promotion"] and model.scaler.covariate_mean
    with_it, without = model.evaluate(data), plain.evaluate(data)
    assert with_it["mase"] < 0.5 * without["mase"], (with_it["mase"], without["mase"])
    future = promoted_sales(tmp_path / "f.csv", future=6)
    model.predict_file(future, tmp_path / "fc.csv")
    rows = list(csv.DictReader(open(tmp_path / "fc.csv")))
    promotion = [int(r["promotion"]) for r in csv.DictReader(open(future))][160:]
    medians = [float(r["p50"]) for r in rows]
    assert [int(r["step"]) for r in rows] == list(range(160, 166))
    assert all((m > 11.5) == bool(p) for m, p in zip(medians, promotion)), (medians, promotion)
    with pytest.raises(RecurError, match=r"s\.csv: series 0 has covariates for 160 steps, 166"):
        model.predict_file(data, tmp_path / "missing.csv")  # no rows past the last value
