"""Shared fixtures: tiny corpora built in tmp_path, one thread, small models."""

import os
import random
import tempfile

import pytest
import torch

torch.set_num_threads(1)
# Document corpora's token caches go to a folder of this test session, not ~/.cache.
os.environ.setdefault("RECUR_TOKEN_CACHE", tempfile.mkdtemp(prefix="recur-tokens-"))
# Subprocesses (the CLI, torchrun) also use one thread: CI has 2 cores and runs tests in parallel
# with nothing, but two-thread PyTorch collapses when anything else holds a core.
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}

WORDS = (
    "the cat sat on a mat and the dog ran to the old red barn while rain fell softly "
    "over green hills where sheep slept"
).split()


def tiny_text(lines: int = 120, seed: int = 0) -> str:
    rng = random.Random(seed)
    return "".join(
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 10))) + ".\n" for _ in range(lines)
    )


@pytest.fixture
def corpus_file(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text(tiny_text(), encoding="utf-8")
    return path


def step_through(stepper, model, ids: torch.Tensor) -> tuple[torch.Tensor, list]:
    """Feed ``ids`` (B, T) to a Stepper one step at a time from the model's initial state:
    the logits (B, T, V) and the final layers."""
    with torch.no_grad():
        layers, steps = stepper.to_layers(model.initial_state(ids.shape[0])), []
        for t in range(ids.shape[1]):
            logits, layers = stepper(ids[:, t], layers)
            steps.append(logits)
    return torch.stack(steps, 1), layers


def assert_stepper_matches(model, ids: torch.Tensor, tolerance: float = 1e-5) -> None:
    """The fp32 one-step path gives the full model's logits and final state for ``ids``
    (``tolerance``: minGRU/minLSTM's log-space scan rounds differently from their step)."""
    from recur.generate.stepper import Stepper

    with torch.no_grad():
        expected, expected_state = model(ids)
    stepper = Stepper(model)
    stepped, layers = step_through(stepper, model, ids)
    torch.testing.assert_close(stepped, expected, atol=tolerance, rtol=tolerance)
    for got, want in zip(stepper.from_layers(layers), expected_state):
        torch.testing.assert_close(got, want, atol=tolerance, rtol=tolerance)


TINY_OPTIONS = dict(
    hidden_size=32,
    embedding_size=16,
    num_layers=2,
    batch_size=4,
    seq_length=16,
    samples=0,
    threads=1,
    eval_every="5",
    log_every=1,
    warmup_steps=2,
    lr=1e-2,
)


def plain_word_options() -> dict:
    """The dataclass defaults of every option the word preset sets: the plain word model that
    tests written before the preset (config/presets.py's WORD_DEFAULTS) expect."""
    from recur.config.options import DataConfig, ModelConfig, TrainConfig
    from recur.config.presets import WORD_DEFAULTS

    defaults = {**vars(DataConfig()), **vars(TrainConfig()), **vars(ModelConfig())}
    return {name: defaults[name] for name in WORD_DEFAULTS}
