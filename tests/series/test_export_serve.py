"""Series runs exported to ONNX (checked against PyTorch) and served at POST /v1/series."""

import json

import numpy as np
import pytest
import torch

import recur
from tests.series.test_train import TINY, rising_falling, seasonal_series

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("series-runs")
    classify = rising_falling(folder / "train.csv")
    recur.train(classify, target="label", epochs=2, out=str(folder / "c"), **TINY)
    data = seasonal_series(folder / "s.csv", length=60)
    recur.train(
        data, forecast=4, season=12, time_column="t", steps=8, sample_paths=20,
        cell="lstm", num_layers=2, out=str(folder / "f"), **TINY,
    )  # fmt: skip
    return folder


@pytest.mark.parametrize("name", ["c", "f"])
def test_export_matches_pytorch(runs, name):
    from recur.export.folder import export_run
    from recur.export.runtime import load_export

    out = export_run(runs / name, say=lambda line: None)
    manifest = json.loads((out / "export.json").read_text())
    assert manifest["kind"] == "series" and manifest["max_logit_difference"] < 1e-4
    bundle, exported = recur.load(runs / name).bundle, load_export(out).model
    inputs = torch.randn(3, 9, manifest["inputs"][0][2][2])
    if name == "c":  # rows of other lengths than the check's
        lengths = torch.tensor([9, 4, 1])
        assert torch.allclose(bundle.model(inputs, lengths), exported(inputs, lengths), atol=1e-5)
    else:
        params, state = bundle.model(inputs)
        params_onnx, state_onnx = exported(inputs)
        assert torch.allclose(params, params_onnx, atol=1e-5)
        assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(state, state_onnx))


def test_int8_is_refused_for_a_series_run(runs):
    from recur.config.export_options import ExportConfig
    from recur.errors import RecurError
    from recur.export.folder import export_run

    with pytest.raises(RecurError, match="--int8 is for text models"):
        export_run(runs / "c", ExportConfig(int8=True, out=str(runs / "x")))


def test_serve_classifies_and_forecasts(runs):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from recur.config.serve_options import ServeConfig
    from recur.serve.app import create_app
    from recur.serve.served import load_models

    config = ServeConfig()
    client = TestClient(create_app(load_models([str(runs / "c"), str(runs / "f")], config), config))
    rising = client.post("/v1/series", json={"model": "c", "values": list(np.linspace(0, 1, 8))})
    assert rising.status_code == 200 and rising.json()["class"] == "rise"
    history = [10 + np.sin(2 * np.pi * t / 12) for t in range(48)]
    body = {"model": "f", "values": history, "horizon": 6, "paths": 30}
    forecast = client.post("/v1/series", json=body).json()
    assert forecast["horizon"] == 6 and len(forecast["p50"]) == 6
    assert all(
        lo[0] <= mid[0] <= hi[0]
        for lo, mid, hi in zip(*(forecast[k] for k in ("p10", "p50", "p90")))
    )
    again = client.post("/v1/series", json=body).json()
    assert again == forecast  # the seed fixes the paths
    wrong = client.post("/v1/series", json={"model": "f", "values": [[1, 2]] * 30})
    assert wrong.status_code == 400 and "values: give finite numbers, 1 per step" in wrong.text
    facts = client.get("/v1/models/f").json()
    assert facts["series"]["task"] == "forecast"
