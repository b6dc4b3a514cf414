"""The GPU check's plumbing (benchmarks/gpu.py), on the CPU: its report replaces only its own
section and entry, the bars are judged from the rows, and the carried wheels install only
what the machine's Python lacks."""

import json

from benchmarks import gpu, gpu_measure
from benchmarks.gpu_report import MARKERS, bars, write_docs, write_results


def results(lstm_rate: float, seconds, sampling_rate: float) -> dict:
    return {
        "date": "2026-12-04 23:00",
        "dry_run": False,
        "machine": {"device": "NVIDIA H200", "torch": "2.11", "cuda": "13.0", "cudnn": 91300},
        "matmul_tflops": {"bf16": 790.0, "tf32": 400.0, "fp32": 50.0},
        "tests": {"summary": "30 passed"},
        "training": [
            {"cell": "lstm", "hidden_size": 512, "batch_size": 256, "seq_length": 128,
             "precision": "bf16", "tokens_per_second": lstm_rate, "tflops": 1.0, "mfu": 0.01},
            {"cell": "mingru", "hidden_size": 1024, "error": "OutOfMemoryError"},
        ],
        "quality": [
            {"name": "GPU preset", "seconds": seconds, "best": 1.41, "tokens_per_second": 1e6,
             "command": "recur train tinyshakespeare.txt --device cuda"},
        ],
        "sampling": [{"what": "1024 streams", "streams": 1024, "hidden_size": 512,
                      "tokens_per_second": sampling_rate}],
    }  # fmt: skip


def test_the_bars_follow_the_figures():
    met = bars(results(2.5e6, 41.0, 3e6))
    assert [bar["met"] for bar in met] == [True, True, True]
    assert met[1]["figure"] == "41.0 s"
    missed = bars(results(1.9e6, None, 0.9e6))
    assert [bar["met"] for bar in missed] == [False, False, False]
    assert missed[1]["figure"] == "not reached"


def test_the_report_replaces_its_own_section_and_entry(tmp_path):
    page, saved = tmp_path / "benchmarks.md", tmp_path / "results.json"
    page.write_text("# Benchmarks\n\nCPU table\n")
    saved.write_text(json.dumps({"training": ["cpu rows"]}))
    for rate in (1.2e6, 2.5e6):  # the second run replaces the first
        row = results(rate, 41.0, 3e6)
        row["bars"] = bars(row)
        write_docs(row, page)
        write_results(row, saved)
    text = page.read_text()
    assert text.startswith("# Benchmarks\n\nCPU table\n") and text.count(MARKERS[0]) == 1
    assert "NVIDIA H200" in text and "2,500,000" in text and "1,200,000" not in text
    assert "OutOfMemoryError" in text
    data = json.loads(saved.read_text())
    assert (
        data["training"] == ["cpu rows"]
        and data["gpu"]["training"][0]["tokens_per_second"] == 2.5e6
    )


def test_every_cell_of_the_config_is_measured():
    assert {"lstm", "gru"} <= set(gpu_measure.cells())


def test_flops_count_every_matrix_once_per_token():
    model, _ = gpu_measure.toy_model(64, "cpu")
    # 2 x (layer 0: 4H(E+H) + 4H(H+H) + decoder H*V) with E=128, H=64, V=65 (8 biases aside)
    expected = 2 * (4 * 64 * (128 + 64) + 4 * 64 * 128 + 64 * 65)
    assert gpu_measure.forward_flops_per_token(model) == expected


def test_carried_wheels_install_only_what_is_missing(tmp_path, monkeypatch):
    for name in ("numpy-0.0.1-py3-none-any.whl", "torch-0.1-py3-none-any.whl"):
        (tmp_path / name).write_bytes(b"")  # older than what is installed: left alone
    monkeypatch.setattr(
        gpu.subprocess, "run", lambda *a, **k: (_ for _ in ()).throw(AssertionError)
    )
    assert gpu.install_wheels(tmp_path) == []
    (tmp_path / "not_installed_here-1.0-py3-none-any.whl").write_bytes(b"")
    calls = []
    monkeypatch.setattr(gpu.subprocess, "run", lambda command, **k: calls.append(command))
    monkeypatch.setattr(gpu.sys, "path", list(gpu.sys.path))
    assert gpu.install_wheels(tmp_path) == ["not_installed_here-1.0-py3-none-any.whl"]
    assert calls and "--no-index" in calls[0] and str(gpu.SITE) == gpu.sys.path[0]
