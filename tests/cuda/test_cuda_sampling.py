"""Sampling across devices: a run trained on one device samples the same text on another at
--temperature 0 (fp32 sampling on a GPU computes what the CPU computes), and the one-token
stepper's logits agree between devices."""

import contextlib
import io

import pytest
import torch

import recur
from recur import cli
from recur.generate.stepper import Stepper
from recur.runs.devices import exact_fp32
from tests.conftest import tiny_text
from tests.cuda import CUDA, HAS_CUDA, NEEDS_CUDA, cuda_only
from tests.cuda.test_cuda_training import TINY

PAIRS = [
    ("cpu", "cpu"),
    pytest.param("cpu", "cuda", marks=NEEDS_CUDA, id="cpu-cuda"),
    pytest.param("cuda", "cpu", marks=NEEDS_CUDA, id="cuda-cpu"),
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Tiny LSTM and GRU runs, trained on the CPU and (with a GPU) on the GPU."""
    folder = tmp_path_factory.mktemp("runs")
    data = folder / "tiny.txt"
    data.write_text(tiny_text(), encoding="utf-8")
    runs = {}
    for device in ["cpu"] + (["cuda"] if HAS_CUDA else []):
        for cell in ("lstm", "gru"):
            out = folder / f"{cell}-{device}"
            recur.train(
                data,
                out=str(out),
                quiet=True,
                **{**TINY, "cell": cell, "steps": 40, "device": device},
            )
            runs[cell, device] = out
    return runs


def cli_samples(run, device: str) -> str:
    argv = ["generate", str(run), "--temperature", "0", "--length", "300", "-n", "3"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main([*argv, "--seed", "1", "--device", device]) == 0
    return printed.getvalue()


@pytest.mark.parametrize("trained_on, sampled_on", PAIRS)
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_run_samples_the_same_text_on_every_device(trained, trained_on, sampled_on, cell):
    run = trained[cell, trained_on]
    here = cli_samples(run, trained_on)
    assert len(here) > 600 and here == cli_samples(run, sampled_on)
    assert here == cli_samples(run, "auto")


@cuda_only
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_fp32_steps_on_a_gpu_match_the_cpu(trained, cell):
    model = recur.load(trained[cell, "cpu"], device="cpu").bundle.model
    ids = torch.randint(
        4, model.config.vocab_size, (64, 40), generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        want, state = model(ids)
        gpu_model = recur.load(trained[cell, "cpu"], device="cuda").bundle.model
        with exact_fp32("cuda"):
            got, gpu_state = gpu_model(ids.cuda())
        torch.testing.assert_close(got.cpu(), want, rtol=1e-5, atol=1e-5)
        steppers = Stepper(model), Stepper(gpu_model)
        layers = steppers[0].to_layers(state), steppers[1].to_layers(gpu_state)
        tokens = ids[:, -1]
        for _ in range(20):
            cpu_logits, cpu_layers = steppers[0](tokens, layers[0])
            gpu_logits, gpu_layers = steppers[1](tokens.cuda(), layers[1])
            torch.testing.assert_close(gpu_logits.cpu(), cpu_logits, rtol=1e-5, atol=1e-5)
            tokens, layers = cpu_logits.argmax(-1), (cpu_layers, gpu_layers)


@pytest.mark.parametrize("device", ["cpu", CUDA])
def test_many_streams_sample_as_one_stream_does(trained, device):
    """64 greedy streams from one prime are 64 copies of the one-stream sample."""
    model = recur.load(trained["lstm", "cpu"], device=device)
    one = model.generate(prime="the ", length=120, temperature=0, num_samples=1)
    many = model.generate(prime="the ", length=120, temperature=0, num_samples=64)
    assert many == one * 64
