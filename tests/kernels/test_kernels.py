"""recur.kernels: the oneDNN product gives addmm's numbers and gradients; one switch
(RECUR_PORTABLE=1, recur --portable) turns every kernel off, and the portable path computes
what the fast path computes."""

import ctypes
import dataclasses
import os
import platform
import warnings

import pytest
import torch

from recur import kernels
from recur.cli import build_parser, main
from recur.config.options import ModelConfig, SampleConfig
from recur.generate.loop import generate
from recur.generate.stepper import PORTABLE_INT8, Stepper
from recur.kernels import allocator, cpu_gru, onednn, quantized
from recur.models.language_model import build_model
from recur.tokenizers import CharTokenizer
from tests.conftest import step_through


@pytest.fixture
def switch(monkeypatch):
    """``switch(portable)`` sets the environment as ``recur [--portable]`` leaves it."""
    monkeypatch.delenv(kernels.PORTABLE, raising=False)

    def turn(portable: bool) -> None:
        if portable:
            monkeypatch.setenv(kernels.PORTABLE, "1")
        else:
            monkeypatch.delenv(kernels.PORTABLE, raising=False)

    return turn


def test_linear_matches_addmm_and_falls_back(monkeypatch):
    torch.manual_seed(0)
    x, weight, bias = torch.randn(37, 19), torch.randn(23, 19), torch.randn(23)
    exact = torch.addmm(bias, x, weight.t())
    assert torch.allclose(onednn.linear(x, weight, bias), exact, atol=1e-5)
    assert torch.allclose(onednn.linear(x, weight), x @ weight.t(), atol=1e-5)
    # transposed (non-contiguous) operands give the same products
    assert torch.allclose(
        onednn.linear(x.t().contiguous().t(), weight.t().contiguous().t()),
        x @ weight.t(),
        atol=1e-5,
    )
    half = onednn.linear(x.bfloat16(), weight.bfloat16(), bias.bfloat16())
    assert half.dtype == torch.bfloat16
    monkeypatch.setattr(onednn, "kernel", lambda: None)
    assert torch.equal(onednn.linear(x, weight, bias), exact)


def test_linear_function_gradients_match_autograd():
    torch.manual_seed(1)
    x, weight, bias = (
        torch.randn(shape, requires_grad=True) for shape in ((40, 16), (24, 16), (24,))
    )
    grad = torch.randn(40, 24)
    ours = torch.autograd.grad(onednn.Linear.apply(x, weight, bias), (x, weight, bias), grad)
    theirs = torch.autograd.grad(torch.addmm(bias, x, weight.t()), (x, weight, bias), grad)
    for a, b in zip(ours, theirs):
        assert torch.allclose(a, b, atol=1e-4)


def test_one_switch_reads_the_environment_and_the_flag(switch, monkeypatch):
    assert kernels.enabled() and quantized.available()
    switch(True)
    assert not kernels.enabled() and not quantized.available() and onednn.kernel() is None
    assert not cpu_gru.usable(torch.nn.GRU(2, 3, batch_first=True), torch.randn(1, 2, 2))
    monkeypatch.setenv(kernels.PORTABLE, "0")
    assert kernels.enabled()
    kernels.set_portable()
    assert not kernels.enabled()
    kernels.set_portable(False)
    assert kernels.enabled()
    assert build_parser().parse_args(["--portable", "generate", "RUN"]).portable
    assert not build_parser().parse_args(["generate", "RUN"]).portable
    assert main(["--portable", "generate", "no-such-run"]) == 1  # the switch is set first
    assert not kernels.enabled()


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's"
)
def test_cpu_training_keeps_freed_memory_on_glibc_unless_portable(switch):
    assert allocator.keep_freed_memory() is True
    switch(True)
    assert allocator.keep_freed_memory() is False


def lm(cell: str, seed: int = 0):
    torch.manual_seed(seed)
    config = ModelConfig(cell=cell, vocab_size=11, hidden_size=24, embedding_size=12, dropout=0)
    return build_model(config)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_the_portable_path_gives_the_same_logits_and_training(cell, switch):
    ids = torch.randint(0, 11, (6, 20), generator=torch.Generator().manual_seed(1))
    results = {}
    for portable in (False, True):
        switch(portable)
        model = lm(cell)
        logits = model(ids)[0]  # gradients on: the CPU GRU's path when the kernels are on
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        losses = []
        for _ in range(4):
            optimizer.zero_grad()
            loss = model(ids[:, :-1], None, ids[:, 1:])[0]
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        results[portable] = logits.detach(), losses
    (fast, fast_losses), (portable, portable_losses) = results[False], results[True]
    torch.testing.assert_close(fast, portable, atol=1e-5, rtol=1e-5)
    assert fast_losses == pytest.approx(portable_losses, abs=1e-4)
    assert fast_losses[-1] < fast_losses[0]


@pytest.fixture
def char_model():
    torch.manual_seed(0)
    tokenizer = CharTokenizer().fit(["abcdefgh \n"])
    config = ModelConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, embedding_size=8)
    return build_model(config), tokenizer


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_fp32_sampling_draws_the_same_tokens_both_ways(cell, switch):
    torch.manual_seed(0)
    tokenizer = CharTokenizer().fit(["abcdefgh \n"])
    model = build_model(
        ModelConfig(cell=cell, vocab_size=tokenizer.vocab_size, hidden_size=32, embedding_size=8)
    )
    sample = SampleConfig(prime="ab", length=60, num_samples=6, seed=3)  # 6 rows: oneDNN's
    fast = generate(model, tokenizer, sample).texts
    switch(True)
    assert generate(model, tokenizer, sample).texts == fast
    assert len(set(fast)) > 1


def test_int8_under_portable_samples_in_fp32_with_a_warning(char_model, switch):
    model, tokenizer = char_model
    sample = SampleConfig(prime="ab", length=40, num_samples=3, seed=7)
    exact = generate(model, tokenizer, sample).texts
    switch(True)
    with pytest.warns(UserWarning, match="int8 needs PyTorch's quantized ops") as caught:
        stepper = Stepper(model, "int8")
    assert stepper.precision == "fp32" and str(caught[0].message) == PORTABLE_INT8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fallback = generate(model, tokenizer, dataclasses.replace(sample, precision="int8"))
    assert fallback.texts == exact


def refuse(*args, **kwargs):
    raise AssertionError("a kernel ran under RECUR_PORTABLE")


def test_under_portable_no_kernel_is_ever_called(switch, monkeypatch):
    onednn.kernel()  # checked (and cached) before the op is replaced
    wide = build_model(ModelConfig(cell="lstm", vocab_size=29, hidden_size=256, embedding_size=8))
    ids = torch.randint(0, 29, (6, 5))
    monkeypatch.setattr(torch.ops.mkldnn, "_linear_pointwise", refuse)
    if onednn.kernel() is not None:  # the replaced op really is the one the fast path calls
        with pytest.raises(AssertionError, match="a kernel ran"):
            step_through(Stepper(wide.eval(), script=False), wide, ids)
    for name in ("linear_prepack", "linear_dynamic"):
        monkeypatch.setattr(torch.ops.quantized, name, refuse)
    monkeypatch.setattr(torch, "quantize_per_channel", refuse)
    monkeypatch.setattr(ctypes, "CDLL", refuse)
    monkeypatch.setattr(cpu_gru.GRURecurrence, "apply", refuse)
    switch(True)
    assert allocator.keep_freed_memory() is False
    for cell in ("gru", "lstm"):
        model = lm(cell)
        loss = model(ids % 11, None, ids % 11)[0]  # CPU training: the GRU's kernel path
        loss.backward()
    for script in (False, True):
        with pytest.warns(UserWarning, match="int8"):
            stepper = Stepper(wide.eval(), "int8", script=script)
        step_through(stepper, wide, ids)


def _resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="malloc_trim is glibc's",
)
def test_freed_memory_kept_in_the_heap_is_released_between_phases():
    """Under keep_freed_memory a freed 64 MB block stays resident (the heap keeps it for the
    next step); release_freed_memory hands its pages back, as training does after validation."""
    assert allocator.keep_freed_memory() is True
    block = torch.ones(16 * 2**20)  # 64 MB, every page touched
    with_block = _resident_mb()
    del block
    assert _resident_mb() > with_block - 16  # kept: not returned on free
    assert allocator.release_freed_memory() is True
    assert _resident_mb() < with_block - 48
