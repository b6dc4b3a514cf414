"""The newer cells (models/min_rnn.py, models/mogrifier.py, kernels/min_scan.py): the parallel
scan, the CPU kernel and the one-token step compute one recurrence; the Mogrifier with 0 rounds
is an LSTM; every cell samples through the stepper, classifies without padding leaking, and
trains, evaluates and resumes exactly."""

import json

import pytest
import torch

import recur
from recur import kernels
from recur.config.options import ClassifierConfig, ModelConfig
from recur.generate.stepper import Stepper
from recur.kernels import min_scan
from recur.models import min_rnn
from recur.models.classifier import build_classifier
from recur.models.language_model import build_model
from recur.models.mogrifier import MogrifierLSTM
from tests.conftest import TINY_OPTIONS, assert_stepper_matches, step_through

NEW_CELLS = ["mingru", "minlstm", "mogrifier"]


@pytest.fixture
def portable():
    kernels.set_portable(True)
    yield
    kernels.set_portable(False)


def run_cell(cell, x, h0, weights):
    """Outputs and gradients (input, h0, weights) of ``cell`` on x with h0, in float64."""
    x, h0 = x.clone().requires_grad_(), h0.clone().requires_grad_()
    cell.zero_grad()
    out = cell(x, h0)
    (out * weights).sum().backward()
    return out.detach(), x.grad, h0.grad, cell.linear.weight.grad.clone()


@pytest.mark.parametrize("kind", ["mingru", "minlstm"])
def test_parallel_scan_kernel_and_step_compute_one_recurrence(kind, monkeypatch):
    monkeypatch.setattr(min_rnn, "SCAN_BLOCK", 7)  # several scan blocks, h carried across them
    monkeypatch.setattr(min_scan, "BLOCK", 8)  # and several kernel blocks
    torch.manual_seed(0)
    cell = min_rnn.MinCell(kind, 6).double()
    x, h0, weights = torch.randn(3, 30, 6).double(), torch.rand(3, 6).double(), torch.randn(6)
    kernels.set_portable(True)
    try:
        scanned = run_cell(cell, x, h0, weights.double())  # the log-space scan (float64)
    finally:
        kernels.set_portable(False)
    with torch.no_grad():
        h, steps = h0, []
        for t in range(x.shape[1]):
            h = cell.step(x[:, t], h)
            steps.append(h)
    torch.testing.assert_close(torch.stack(steps, 1), scanned[0])
    # the CPU kernel runs in fp32 only: the same outputs and gradients as the float64 scan
    kernel = run_cell(cell.float(), x.float(), h0.float(), weights)
    for got, want in zip(kernel, scanned):
        torch.testing.assert_close(got.double(), want, atol=1e-5, rtol=1e-4)


def test_the_scan_carries_state_between_chunks():
    torch.manual_seed(0)
    model = build_model(ModelConfig(cell="minlstm", vocab_size=11, hidden_size=8, num_layers=2))
    ids = torch.randint(0, 11, (2, 20))
    with torch.no_grad():
        whole, state = model(ids)
        first, middle = model(ids[:, :9])
        second, end = model(ids[:, 9:], middle)
    torch.testing.assert_close(torch.cat([first, second], 1), whole)
    torch.testing.assert_close(end[0], state[0])


def test_a_mogrifier_with_no_rounds_is_an_lstm():
    torch.manual_seed(0)
    mogrifier, lstm = MogrifierLSTM(5, 7, 2, rounds=0), torch.nn.LSTM(5, 7, 2, batch_first=True)
    h = 7
    order = torch.cat(
        [torch.arange(0, 2 * h), torch.arange(3 * h, 4 * h), torch.arange(2 * h, 3 * h)]
    )
    with torch.no_grad():  # nn.LSTM's (i, f, g, o) rows from the Mogrifier's (i, f, o, g)
        for k, layer in enumerate(mogrifier.layers):
            weight, bias = layer.gates.weight[order], layer.gates.bias[order]
            width = weight.shape[1] - h
            getattr(lstm, f"weight_ih_l{k}").copy_(weight[:, :width])
            getattr(lstm, f"weight_hh_l{k}").copy_(weight[:, width:])
            getattr(lstm, f"bias_ih_l{k}").copy_(bias)
            getattr(lstm, f"bias_hh_l{k}").zero_()
    x = torch.randn(3, 6, 5)
    out, (hn, cn) = mogrifier(x)
    want, (hw, cw) = lstm(x)
    for got, expected in ((out, want), (hn, hw), (cn, cw)):
        torch.testing.assert_close(got, expected)
    assert len(MogrifierLSTM(5, 7, 2, rounds=4).layers[0].mogrify) == 4


@pytest.mark.parametrize("cell", NEW_CELLS)
@pytest.mark.parametrize("embedding_size", [7, 12])  # an input projection, or none (tied)
def test_the_stepper_matches_the_full_model(cell, embedding_size):
    torch.manual_seed(0)
    config = ModelConfig(
        cell=cell, vocab_size=13, hidden_size=12, embedding_size=embedding_size, num_layers=2
    )
    model = build_model(config).eval()
    assert_stepper_matches(model, torch.randint(0, 13, (3, 9)))
    assert Stepper(model).scripted


def test_the_stepper_matches_the_log_space_scan(portable):
    torch.manual_seed(0)
    model = build_model(ModelConfig(cell="mingru", vocab_size=13, hidden_size=12)).eval()
    # the log-space scan rounds its cumulative log-gates in fp32: close, not bit-equal
    assert_stepper_matches(model, torch.randint(0, 13, (3, 40)), tolerance=1e-4)


@pytest.mark.parametrize("cell", NEW_CELLS)
def test_a_conditioned_model_steps_with_its_condition_rows(cell):
    torch.manual_seed(0)
    config = ModelConfig(
        cell=cell,
        vocab_size=16,
        hidden_size=8,
        embedding_size=6,
        condition_embedding=True,
        condition_ids=[[12, 13], [14, 15]],
    )
    model = build_model(config).eval()
    ids = torch.randint(0, 12, (2, 10))
    ids[:, 0], ids[:, 4] = 12, 15
    assert_stepper_matches(model, ids)


@pytest.mark.parametrize("precision,tolerance", [("bf16", 0.05), ("int8", 0.1)])
@pytest.mark.parametrize("cell", ["mingru", "mogrifier"])
def test_reduced_precision_steps_stay_close(cell, precision, tolerance):
    torch.manual_seed(0)
    # 256 wide: products under stepper.SMALL_PRODUCT weights stay fp32 at any precision
    config = ModelConfig(cell=cell, vocab_size=29, hidden_size=256, embedding_size=16)
    model = build_model(config).eval()
    ids = torch.randint(0, 29, (2, 6))
    with torch.no_grad():
        expected = model(ids)[0].log_softmax(-1)
    stepped, _ = step_through(Stepper(model, precision), model, ids)
    error = (stepped.log_softmax(-1) - expected).abs().max().item()
    assert 0 < error < tolerance


@pytest.mark.parametrize("cell", NEW_CELLS)
def test_padding_never_leaks_into_a_classifier(cell):
    torch.manual_seed(0)
    model = build_classifier(
        ModelConfig(cell=cell, num_layers=2, hidden_size=8, embedding_size=4, vocab_size=20),
        ClassifierConfig(classes=["a", "b"], pooling="concat", bidirectional=True),
    ).eval()
    ids, lengths = torch.randint(1, 20, (3, 7)), torch.tensor([7, 4, 2])
    ids[1, 4:], ids[2, 2:] = 0, 0
    batched = model(ids, lengths)
    alone = torch.cat([model(ids[i : i + 1, : lengths[i]], lengths[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=1e-5)
    other = ids.clone()
    other[1, 4:], other[2, 2:] = 5, 9
    torch.testing.assert_close(model(other, lengths), batched, atol=1e-5, rtol=1e-5)


def test_bad_cell_options_are_one_line_errors():
    with pytest.raises(recur.RecurError, match="--mogrifier-rounds"):
        build_model(ModelConfig(cell="mogrifier", vocab_size=5, mogrifier_rounds=-1))


@pytest.mark.parametrize("cell", NEW_CELLS)
def test_each_cell_trains_samples_evaluates_and_resumes_exactly(cell, corpus_file, tmp_path):
    options = {**TINY_OPTIONS, "cell": cell, "steps": 8, "dropout": 0.1, "quiet": True}
    options.update(mogrifier_rounds=2) if cell == "mogrifier" else None
    straight = recur.train(corpus_file, out=str(tmp_path / "a"), **options)
    recur.train(corpus_file, out=str(tmp_path / "b"), stop_after=5, **options)
    resumed = recur.train(resume=str(tmp_path / "b"), quiet=True)
    states = [json.loads((tmp_path / r / "last" / "trainer_state.json").read_text()) for r in "ab"]
    assert states[0]["step"] == states[1]["step"] == 8
    assert states[0]["last_loss"] == states[1]["last_loss"]
    saved = json.loads((tmp_path / "a" / "best" / "config.json").read_text())["model"]
    assert saved["cell"] == cell
    assert straight.generate(length=30, seed=3) == resumed.generate(length=30, seed=3)
    assert len(straight.generate(length=30, seed=3, precision="bf16")[0]) == 30
    text = corpus_file.read_text()
    assert 0 < straight.evaluate(text=text[-500:])["loss"] < 5


def test_a_classifier_starts_from_a_mingru_language_model(tmp_path):
    from recur.models.classifier import load_encoder

    torch.manual_seed(0)
    config = ModelConfig(cell="mingru", vocab_size=20, hidden_size=8, embedding_size=4)
    lm = build_model(config)
    model = build_classifier(config, ClassifierConfig(classes=["a", "b"]))
    copied = load_encoder(model, lm)
    assert "forward_layers.1.layers.0.cell.linear.weight" in copied
    assert "forward_layers.0.input.weight" in copied
    torch.testing.assert_close(
        model.state_dict()["forward_layers.1.layers.0.cell.linear.weight"],
        lm.state_dict()["rnn.layers.1.cell.linear.weight"],
    )


def test_the_input_projection_folds_into_the_embedding(monkeypatch):
    torch.manual_seed(0)
    model = build_model(ModelConfig(cell="mingru", vocab_size=11, hidden_size=8)).eval()
    ids = torch.randint(0, 11, (4, 30))
    assert model.folds_projection(ids)
    with torch.no_grad():
        folded, state = model(ids)
        monkeypatch.setattr(type(model), "folds_projection", lambda self, ids: False)
        plain, plain_state = model(ids)
    torch.testing.assert_close(folded, plain)
    torch.testing.assert_close(state[0], plain_state[0])
