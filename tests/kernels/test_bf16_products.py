"""bf16 products in the CPU training kernels (``--precision bf16``, and ``auto`` on a CPU with
AMX): close to fp32 on a tiny model, the recurrence kept in fp32, the fallback where the
hardware or the switch says no, and the choice recorded in the run."""

import json

import pytest
import torch
from torch import nn

import recur
from recur import kernels
from recur.config.options import ModelConfig
from recur.kernels import cpu_gru, min_scan, onednn
from recur.models.language_model import build_model
from recur.training.optimizer import resolve_precision
from tests.conftest import TINY_OPTIONS

CPU = torch.device("cpu")
BF16 = torch.autocast("cpu", dtype=torch.bfloat16)


def gradients(model, loss):
    model.zero_grad()
    loss.backward()
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


def relative(a, b):
    return ((a - b).norm() / b.norm()).item()


def test_the_gru_kernel_in_bf16_stays_close_to_fp32_and_runs_its_products_in_bf16(monkeypatch):
    torch.manual_seed(0)
    rnn = nn.GRU(16, 32, 2, batch_first=True)
    x, h0 = torch.randn(4, 12, 16), torch.randn(2, 4, 32)
    out, h = cpu_gru.gru(rnn, x, h0)
    exact = gradients(rnn, out.square().sum() + h.sum())
    seen = []
    real = onednn.linear
    monkeypatch.setattr(cpu_gru, "linear", lambda *a: seen.append(a[0].dtype) or real(*a))
    with BF16:
        assert cpu_gru.usable(rnn, x)
        low_out, low_h = cpu_gru.gru(rnn, x, h0)
    got = gradients(rnn, low_out.square().sum() + low_h.sum())
    assert set(seen) == {torch.bfloat16}  # every recurrent product, forward and backward
    assert low_out.dtype == low_h.dtype == torch.float32  # the state stays fp32
    assert 0 < (low_out - out).abs().max() < 0.03
    assert 0 < relative(got, exact) < 0.03


@pytest.mark.parametrize("kind", ["mingru", "minlstm"])
def test_the_min_scan_takes_bf16_gate_products_and_scans_in_fp32(kind):
    torch.manual_seed(0)
    k = torch.randn(3, 70, 2 * 8 if kind == "mingru" else 3 * 8, requires_grad=True)
    h0 = torch.rand(3, 8)
    exact = min_scan.scan(kind, k, h0)
    (exact_grad,) = torch.autograd.grad(exact.square().sum(), k)
    low_k = k.to(torch.bfloat16)
    with BF16:
        assert min_scan.usable(low_k)
        h = min_scan.scan(kind, low_k, h0)
    (grad,) = torch.autograd.grad(h.square().sum(), k)
    assert h.dtype == torch.float32
    assert 0 < (h - exact).abs().max() < 0.05
    assert relative(grad, exact_grad) < 0.03


@pytest.mark.parametrize("cell", ["gru", "mingru"])
def test_a_language_model_step_in_bf16_matches_fp32_closely(cell):
    torch.manual_seed(0)
    config = ModelConfig(cell=cell, vocab_size=11, hidden_size=32, embedding_size=16, dropout=0)
    model = build_model(config)
    ids = torch.randint(0, 11, (8, 24), generator=torch.Generator().manual_seed(1))
    loss = model(ids[:, :-1], None, ids[:, 1:])[0]
    exact = gradients(model, loss)
    with BF16:
        low_loss = model(ids[:, :-1], None, ids[:, 1:])[0]
    got = gradients(model, low_loss)
    assert low_loss.item() != loss.item()
    assert low_loss.item() == pytest.approx(loss.item(), rel=0.01)
    assert relative(got, exact) < 0.05


def lm(cell, vocab_size=11):
    return build_model(
        ModelConfig(cell=cell, vocab_size=vocab_size, hidden_size=8, embedding_size=4)
    )


def bf16_instructions(monkeypatch, amx: bool, avx512: bool) -> None:
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512)


@pytest.mark.parametrize("amx,avx512", [(True, True), (False, True)])
def test_auto_is_bf16_only_for_kernel_cells_and_lstms_with_bf16_instructions_never_when_portable(
    monkeypatch, amx, avx512
):
    bf16_instructions(monkeypatch, amx, avx512)
    monkeypatch.delenv(kernels.PORTABLE, raising=False)
    for cell in ("gru", "mingru", "minlstm", "lstm"):
        assert resolve_precision("auto", CPU, lm(cell)) == "bf16"
    assert resolve_precision("auto", CPU, lm("lstm", 1000)) == "bf16"  # words: measured
    for cell in ("rnn", "mogrifier"):  # not measured in bf16
        assert resolve_precision("auto", CPU, lm(cell, 1000)) == "fp32"
    assert resolve_precision("auto", torch.device("cuda"), lm("gru")) == "fp32"
    assert resolve_precision("fp32", CPU, lm("gru")) == "fp32"
    assert resolve_precision("bf16", CPU, lm("lstm")) == "bf16"
    kernels.set_portable(True)
    try:
        assert resolve_precision("auto", CPU, lm("gru")) == "fp32"
    finally:
        kernels.set_portable(False)
    bf16_instructions(monkeypatch, False, False)  # oneDNN would emulate bf16
    assert resolve_precision("auto", CPU, lm("gru")) == "fp32"


@pytest.mark.parametrize("amx", [True, False])
def test_the_run_records_the_precision_it_trained_in(corpus_file, tmp_path, monkeypatch, amx):
    bf16_instructions(monkeypatch, amx, False)
    options = {**TINY_OPTIONS, "cell": "gru", "steps": 3}
    recur.train(str(corpus_file), out=str(tmp_path / "run"), quiet=True, **options)
    config = json.loads((tmp_path / "run" / "last" / "config.json").read_text())
    assert config["train"]["precision"] == ("bf16" if amx and onednn.kernel() else "fp32")
