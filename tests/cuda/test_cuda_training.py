"""Training on each device: steps lower the loss, exact resume, bf16 autocast, fp16 with the loss
scaler, and ``--size auto`` timing its probe steps on the device that trains."""

import json

import pytest
import torch

import recur
from recur.config.options import DataConfig, ModelConfig
from recur.errors import RecurError
from recur.runs.logbook import read_metrics
from recur.training import sizing
from tests.conftest import TINY_OPTIONS
from tests.cuda import DEVICES

# Given in full, so that a cuda run gets these and not the GPU preset's (config/presets.py).
TINY = {**TINY_OPTIONS, "cell": "lstm", "dropout": 0.0, "precision": "fp32", "weight_decay": 0.01}


def train_tiny(corpus_file, out, device, **extra):
    options = {**TINY, "device": device, **extra}
    return recur.train(corpus_file, out=str(out), quiet=True, **options)


def train_losses(run) -> list:
    return [r["loss"] for r in read_metrics(run) if r["kind"] == "train"]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_training_steps_lower_the_loss(corpus_file, tmp_path, device, cell):
    train_tiny(corpus_file, tmp_path / "run", device, steps=40, cell=cell)
    losses = train_losses(tmp_path / "run")
    assert losses[-1] < losses[0] - 0.5
    saved = recur.load(tmp_path / "run" / "last", device="cpu")
    assert all(p.device.type == "cpu" for p in saved.bundle.model.parameters())


@pytest.mark.parametrize("device", DEVICES)
def test_resume_continues_exactly(corpus_file, tmp_path, device):
    """On the CPU bit for bit; cuDNN and the embedding's backward add in any order on a GPU,
    so there the weights agree to rounding (a lost state or RNG would move them far more)."""
    train_tiny(corpus_file, tmp_path / "a", device, steps=16, dropout=0.1)
    train_tiny(corpus_file, tmp_path / "b", device, steps=16, dropout=0.1, stop_after=7)
    recur.train(resume=str(tmp_path / "b"), quiet=True)
    states = [json.loads((tmp_path / r / "last" / "trainer_state.json").read_text()) for r in "ab"]
    assert states[0]["step"] == states[1]["step"] == 16
    a, b = (recur.load(tmp_path / run / "last", device="cpu") for run in "ab")
    pairs = zip(a.bundle.model.state_dict().values(), b.bundle.model.state_dict().values())
    for p, q in pairs:
        if device == "cpu":
            assert torch.equal(p, q)
        else:
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_bf16_autocast_learns(corpus_file, tmp_path, device):
    train_tiny(corpus_file, tmp_path / "run", device, steps=40, precision="bf16")
    losses = train_losses(tmp_path / "run")
    assert losses[-1] < losses[0] - 0.5
    config = json.loads((tmp_path / "run" / "last" / "config.json").read_text())
    assert config["train"]["precision"] == "bf16"
    weights = recur.load(tmp_path / "run" / "last", device="cpu").bundle.model.parameters()
    assert all(p.dtype == torch.float32 for p in weights)  # autocast: fp32 master weights


@pytest.mark.parametrize("device", DEVICES)
def test_fp16_trains_with_the_loss_scaler(corpus_file, tmp_path, device):
    if device == "cpu":  # no fp16 LSTM on a CPU (oneDNN): a one-line error, no checkpoint
        with pytest.raises(RecurError, match="fp16 trains an LSTM on a CUDA GPU only"):
            train_tiny(corpus_file, tmp_path / "run", device, steps=4, precision="fp16")
        assert not (tmp_path / "run" / "last").exists()
        return
    train_tiny(corpus_file, tmp_path / "run", device, steps=30, precision="fp16", stop_after=20)
    state = json.loads((tmp_path / "run" / "last" / "trainer_state.json").read_text())
    assert state["grad_scaler"]["scale"] > 0
    recur.train(resume=str(tmp_path / "run"), quiet=True)
    losses = train_losses(tmp_path / "run")
    assert all(loss == loss for loss in losses)  # no NaN got through the scaler
    assert losses[-1] < losses[0] - 0.3


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_size_auto_times_the_device_that_trains(device, precision, monkeypatch):
    used = []
    original = sizing.autocast

    def watching(on, wanted):
        used.append((on.type, wanted))
        return original(on, wanted)

    monkeypatch.setattr(sizing, "autocast", watching)
    config = ModelConfig(vocab_size=40, hidden_size=16, embedding_size=8)
    rate, parameters = sizing.probe(
        config, DataConfig(batch_size=4, seq_length=8), device, precision
    )
    assert rate > 0 and parameters > 0
    assert used and set(used) == {(device, precision)}


@pytest.mark.parametrize(
    "layers, dropout, device, expected",
    [
        (2, 0.1, "cuda", True),
        (1, 0.1, "cuda", False),
        (2, 0.0, "cuda", False),
        (2, 0.1, "cpu", False),
    ],
)
def test_cuda_dropout_between_layers_is_reseeded_each_step(layers, dropout, device, expected):
    """cuDNN's own dropout state (between stacked layers) is what a resume cannot restore; the
    trainer reseeds it from the saved generator each step wherever cuDNN would use it."""
    from recur.models.language_model import build_model
    from recur.training.trainer import reseeds_cudnn_dropout

    config = ModelConfig(vocab_size=20, hidden_size=8, embedding_size=8)
    config.num_layers, config.dropout = layers, dropout
    assert reseeds_cudnn_dropout(build_model(config), torch.device(device)) is expected
