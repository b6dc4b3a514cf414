import json

import pytest
import torch

import recur
from recur.errors import RecurError
from recur.runs.logbook import read_metrics
from recur.training import trainer as train_module
from tests.conftest import TINY_OPTIONS


def train_tiny(corpus_file, out, **extra):
    return recur.train(corpus_file, out=str(out), quiet=True, **{**TINY_OPTIONS, **extra})


def test_training_lowers_the_loss_and_writes_the_run(corpus_file, tmp_path):
    # the character preset's LSTM: 3.28 to 2.06 in 100 steps (2.62 in the GRU's 60)
    model = train_tiny(corpus_file, tmp_path / "run", steps=100)
    records = read_metrics(tmp_path / "run")
    losses = [r["loss"] for r in records if r["kind"] == "train"]
    evals = [r for r in records if r["kind"] == "eval"]
    assert losses[-1] < losses[0] - 0.7
    assert evals and evals[-1]["step"] == 100
    for name in ("best", "last"):
        assert (tmp_path / "run" / name / "model.safetensors").is_file()
    assert (tmp_path / "run" / "last" / "trainer_state.safetensors").is_file()
    assert (tmp_path / "run" / "loss.png").is_file()
    assert model.path == tmp_path / "run" / "best"


def test_evaluate_reproduces_the_logged_validation_loss(corpus_file, tmp_path):
    model = train_tiny(corpus_file, tmp_path / "run", steps=30)
    best = min(r["val_loss"] for r in read_metrics(tmp_path / "run") if r["kind"] == "eval")
    text = corpus_file.read_text()
    result = model.evaluate(text=text[int(len(text) * 0.9) :])
    assert result["loss"] == pytest.approx(best, abs=1e-6)
    assert result["bits_per_char"] == pytest.approx(best / 0.6931471805599453, rel=1e-3)


def test_resume_continues_exactly(corpus_file, tmp_path):
    straight = train_tiny(corpus_file, tmp_path / "a", steps=24, dropout=0.1)
    train_tiny(corpus_file, tmp_path / "b", steps=24, dropout=0.1, stop_after=11)
    resumed = recur.train(resume=str(tmp_path / "b"), quiet=True)
    last = [
        json.loads((tmp_path / run / "last" / "trainer_state.json").read_text())
        for run in ("a", "b")
    ]
    assert last[0]["step"] == last[1]["step"] == 24
    assert last[0]["last_loss"] == last[1]["last_loss"]
    a, b = (recur.load(tmp_path / run / "last") for run in ("a", "b"))
    for p, q in zip(a.bundle.model.state_dict().values(), b.bundle.model.state_dict().values()):
        assert torch.equal(p, q)
    assert straight.generate(length=50, seed=3) == resumed.generate(length=50, seed=3)


def test_ctrl_c_saves_last_and_resume_finishes(corpus_file, tmp_path, monkeypatch):
    original = train_module.Trainer.train_step

    def interrupt_at_seven(self):
        if self.step == 7:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(train_module.Trainer, "train_step", interrupt_at_seven)
    with pytest.raises(KeyboardInterrupt):
        train_tiny(corpus_file, tmp_path / "run", steps=12)
    state = json.loads((tmp_path / "run" / "last" / "trainer_state.json").read_text())
    assert state["step"] == 7
    monkeypatch.setattr(train_module.Trainer, "train_step", original)
    recur.train(resume=str(tmp_path / "run"), quiet=True)
    state = json.loads((tmp_path / "run" / "last" / "trainer_state.json").read_text())
    assert state["step"] == 12


def test_resume_refuses_a_conflicting_model_flag(corpus_file, tmp_path):
    train_tiny(corpus_file, tmp_path / "run", steps=3)
    with pytest.raises(
        RecurError, match="--hidden-size 64 conflicts with the run's saved hidden_size = 32"
    ):
        recur.train(resume=str(tmp_path / "run"), hidden_size=64, quiet=True)


def test_resume_refuses_changed_data(corpus_file, tmp_path):
    train_tiny(corpus_file, tmp_path / "run", steps=3)
    corpus_file.write_text(corpus_file.read_text()[::-1])
    with pytest.raises(RecurError, match="training data changed"):
        recur.train(resume=str(tmp_path / "run"), quiet=True)


def test_an_existing_run_is_not_overwritten(corpus_file, tmp_path):
    train_tiny(corpus_file, tmp_path / "run", steps=2)
    with pytest.raises(RecurError, match="already holds a run"):
        train_tiny(corpus_file, tmp_path / "run", steps=2)


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_other_cells_train(corpus_file, tmp_path, cell):
    model = train_tiny(corpus_file, tmp_path / cell, steps=4, cell=cell)
    assert len(model.generate(length=20, seed=0)[0]) == 20


def test_time_budget_stops_training(corpus_file, tmp_path):
    train_tiny(corpus_file, tmp_path / "run", time="2s", eval_every="auto")
    records = read_metrics(tmp_path / "run")
    trained = [r for r in records if r["kind"] == "train"]
    assert 1.9 < trained[-1]["time"] < 4.0
    assert trained[-1]["lr"] < 0.2 * TINY_OPTIONS.get("lr", 4e-3)  # the schedule ran out too


def test_validation_can_be_capped_to_a_prefix_of_the_slice(corpus_file, tmp_path):
    model = train_tiny(corpus_file, tmp_path / "run", steps=10, max_val_tokens=50)
    logged = [r for r in read_metrics(tmp_path / "run") if r["kind"] == "eval"][-1]
    text = corpus_file.read_text()
    prefix = text[int(len(text) * 0.9) :][:50]
    assert logged["val_loss"] == pytest.approx(model.evaluate(text=prefix)["loss"], abs=1e-6)


def test_bf16_autocast_trains_and_keeps_fp32_weights(corpus_file, tmp_path):
    model = train_tiny(corpus_file, tmp_path / "run", steps=12, precision="bf16")
    losses = [r["loss"] for r in read_metrics(tmp_path / "run") if r["kind"] == "train"]
    assert losses[-1] < losses[0]
    assert all(p.dtype == torch.float32 for p in model.bundle.model.parameters())


def test_fp16_loss_scaling_trains_and_resumes_exactly(corpus_file, tmp_path):
    """The CUDA mixed-precision path (fp16 autocast + GradScaler) on CPU: it learns, keeps fp32
    weights, saves the scaler's state, and a resume continues bit for bit."""
    fp16 = dict(steps=20, precision="fp16", cell="gru")  # a CPU LSTM refuses fp16
    straight = train_tiny(corpus_file, tmp_path / "a", **fp16)
    train_tiny(corpus_file, tmp_path / "b", **fp16, stop_after=9)
    recur.train(resume=str(tmp_path / "b"), quiet=True)
    losses = [r["loss"] for r in read_metrics(tmp_path / "a") if r["kind"] == "train"]
    assert losses[-1] < losses[0]
    assert all(p.dtype == torch.float32 for p in straight.bundle.model.parameters())
    states = [
        json.loads((tmp_path / run / "last" / "trainer_state.json").read_text())
        for run in ("a", "b")
    ]
    # the growth tracker counts every step since the scale last changed: 11 had the resume
    # started a fresh scaler
    assert states[0]["grad_scaler"] == states[1]["grad_scaler"]
    assert states[0]["grad_scaler"]["_growth_tracker"] == 20
    assert states[0]["last_loss"] == states[1]["last_loss"]
    a, b = (recur.load(tmp_path / run / "last") for run in ("a", "b"))
    for p, q in zip(a.bundle.model.state_dict().values(), b.bundle.model.state_dict().values()):
        assert torch.equal(p, q)


def test_threads_take_the_free_cores_unless_given(monkeypatch):
    from recur.config.options import TrainConfig
    from recur.training import machine

    monkeypatch.setattr(machine.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(machine, "busy_cores", lambda: 0.1)
    assert machine.auto_threads(TrainConfig()) == (2, None)
    monkeypatch.setattr(machine, "busy_cores", lambda: 1.0)
    threads, note = machine.auto_threads(TrainConfig())
    assert threads == 1 and "--threads 2 overrides" in note
    assert machine.auto_threads(TrainConfig(threads=2)) == (2, None)


def test_long_time_budgets_start_deeper_and_wider_unless_given(corpus_file, tmp_path):
    small = dict(
        embedding_size=8,
        num_layers=1,
        batch_size=2,
        seq_length=8,
        samples=0,
        threads=1,
        stop_after=1,
        eval_every="1000",
    )

    def width(run, **options):
        recur.train(corpus_file, out=str(tmp_path / run), quiet=True, **small, **options)
        return json.loads((tmp_path / run / "last" / "config.json").read_text())["model"][
            "hidden_size"
        ]

    small.pop("seq_length")
    assert width("long", time="10m") == 320
    saved = json.loads((tmp_path / "long" / "last" / "config.json").read_text())
    assert saved["data"]["seq_length"] == 128
    assert (saved["train"]["weight_decay"], saved["train"]["optimizer"]) == (0.8, "muon")
    assert width("short", time="3m") == 256
    saved = json.loads((tmp_path / "short" / "last" / "config.json").read_text())
    assert saved["data"]["seq_length"] == 64
    assert (saved["train"]["weight_decay"], saved["train"]["optimizer"]) == (0.2, "muon")
    small.pop("num_layers")  # the depth is a long-budget default too
    width("deep", time="10m", hidden_size=64)
    saved = json.loads((tmp_path / "deep" / "last" / "config.json").read_text())
    assert (saved["model"]["num_layers"], saved["model"]["hidden_size"]) == (3, 64)
    width("deep_short", time="3m", hidden_size=64)
    saved = json.loads((tmp_path / "deep_short" / "last" / "config.json").read_text())
    assert saved["model"]["num_layers"] == 2
    assert width("given", time="10m", hidden_size=48) == 48
    assert width("steps", time="10m", steps=5) == 256


def test_a_given_weight_decay_and_word_models_keep_their_own(corpus_file, tmp_path):
    small = dict(
        embedding_size=8,
        hidden_size=16,
        num_layers=1,
        batch_size=2,
        seq_length=8,
        samples=0,
        threads=1,
        stop_after=1,
        eval_every="1000",
    )

    def decay(run, **options):
        recur.train(corpus_file, out=str(tmp_path / run), quiet=True, **small, **options)
        return json.loads((tmp_path / run / "last" / "config.json").read_text())["train"][
            "weight_decay"
        ]

    # plain character runs: 0.2, or 0.8 at 10 minutes (asserted in the test above)
    assert decay("given", time="3m", weight_decay=0.01) == 0.01
    assert decay("words", time="3m", level="word") == 0.01


def test_size_auto_takes_the_widest_model_the_budget_feeds(monkeypatch):
    from recur.config.options import DataConfig, ModelConfig, TrainConfig
    from recur.training import sizing

    # A machine where every model runs at 2M tokens/s: 60 s give 120M tokens.
    def probe(config, data, device, precision="fp32", train=None):
        return 2e6, 10 * config.hidden_size**2

    monkeypatch.setattr(sizing, "probe", probe)
    model, train = ModelConfig(vocab_size=65), TrainConfig(lr=6e-3)
    sizing.choose_width(model, DataConfig(), train, 60.0, torch.device("cpu"))
    # 120M / (10 * w^2) >= 2 holds up to w = 2449: 2048 is the widest candidate under it
    assert model.hidden_size == 2048 and train.lr == sizing.WIDE_LR
    model, train = ModelConfig(vocab_size=65), TrainConfig(lr=6e-3)
    sizing.choose_width(model, DataConfig(), train, 1.0, torch.device("cpu"))
    assert model.hidden_size == 256 and train.lr == 6e-3  # 2M / 655,360 = 3.05


def test_size_auto_times_the_step_of_the_runs_optimizer(monkeypatch):
    """Muon's orthogonalisation costs a share of each step, so the probe steps with it, at the
    run's --newton-schulz-steps."""
    from recur.config.options import DataConfig, ModelConfig, TrainConfig
    from recur.training import sizing

    seen, build = [], sizing.build_optimizer
    monkeypatch.setattr(
        sizing,
        "build_optimizer",
        lambda model, train: seen.append(build(model, train)) or seen[-1],
    )
    model = ModelConfig(vocab_size=20, hidden_size=16, embedding_size=8)
    train = TrainConfig(optimizer="muon", newton_schulz_steps=3)
    rate, _ = sizing.probe(model, DataConfig(batch_size=2, seq_length=8), "cpu", "fp32", train)
    assert rate > 0 and [type(optimizer).__name__ for optimizer in seen] == ["MuonAdamW"]
    assert seen[0].newton_schulz_steps == 3


def test_size_auto_measures_and_records_the_width(corpus_file, tmp_path):
    small = dict(
        embedding_size=8,
        num_layers=1,
        batch_size=2,
        seq_length=8,
        samples=0,
        threads=1,
        stop_after=2,
        eval_every="1000",
    )
    recur.train(corpus_file, out=str(tmp_path / "run"), quiet=True, time="1s", size="auto", **small)
    config = json.loads((tmp_path / "run" / "last" / "config.json").read_text())
    from recur.training.sizing import WIDTHS

    assert config["model"]["hidden_size"] in WIDTHS
    assert config["train"]["size"] == "auto"
    with pytest.raises(RecurError, match="needs a --time budget"):
        recur.train(
            corpus_file, out=str(tmp_path / "steps"), quiet=True, steps=3, size="auto", **small
        )


class Bigram(torch.nn.Module):
    """A model whose prediction depends on the current token only, so any slicing of a stream
    must give exactly the one stream's loss; the state counts the tokens read."""

    def __init__(self, vocab_size=7):
        super().__init__()
        self.config = type("Config", (), {"vocab_size": vocab_size})()
        self.table = torch.nn.Embedding(vocab_size, vocab_size)

    def forward(self, ids, state=None, targets=None):
        count = (state[0] if state is not None else 0) + ids.shape[1]
        logits = self.table(ids)
        if targets is not None:
            return torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten()), (
                count,
            )
        return logits, (count,)


@pytest.mark.parametrize("length", [4 * 4 * 8 + 1, 1000, 1003])
def test_sliced_validation_counts_every_target_once(length):
    from recur.lm.evaluate import sliced_loss, stream_loss

    torch.manual_seed(0)
    model = Bigram()
    ids = torch.randint(0, 7, (length,)).numpy()
    exact, count = stream_loss(model, ids)
    for streams, warmup in ((4, 8), (5, 8), (16, 3)):
        total, sliced_count = sliced_loss(model, ids, streams=streams, warmup=warmup)
        assert sliced_count == count == length - 1
        assert total == pytest.approx(exact, rel=1e-6)
    assert sliced_loss(model, ids[:50], streams=4, warmup=8) == stream_loss(model, ids[:50])


def test_sliced_validation_is_close_to_one_stream(corpus_file, tmp_path):
    from recur.lm.evaluate import sliced_loss, stream_loss

    bundle = train_tiny(corpus_file, tmp_path / "run", steps=40).bundle
    model = bundle.model
    ids = bundle.tokenizer.encode_array(corpus_file.read_text() * 3)
    exact, count = stream_loss(model, ids)
    total, _ = sliced_loss(model, ids, streams=8, warmup=64)
    assert abs(total - exact) / count < 0.01  # nats per token
    assert total != exact  # it did slice


def test_cpu_training_releases_freed_memory_after_each_validation(
    corpus_file, tmp_path, monkeypatch
):
    from recur.kernels import allocator

    calls = []
    monkeypatch.setattr(allocator, "release_freed_memory", lambda: calls.append(1) or True)
    train_tiny(corpus_file, tmp_path / "run", steps=10)  # validations at steps 5 and 10
    evals = [r for r in read_metrics(tmp_path / "run") if r["kind"] == "eval"]
    assert len(calls) == len(evals) == 2
