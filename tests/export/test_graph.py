"""The traced graphs of every cell and option, checked against PyTorch; the cummax form of the
condition tracking; int8 weights."""

import numpy as np
import pytest
import torch

from recur.config.options import ClassifierConfig, ModelConfig
from recur.errors import RecurError
from recur.export import check, graph, runtime
from recur.export.quantize import quantize
from recur.models.classifier import build_classifier
from recur.models.language_model import build_model

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

CONDITION_IDS = [[4, 5], [6]]  # two condition columns: <a=x> <a=y> and <b=z>


def exported(model, tmp_path):
    graph.write_language_graph(model.eval(), tmp_path / "model.onnx")
    return runtime.load_model(tmp_path, {}, "lm")


def tiny(**options) -> torch.nn.Module:
    torch.manual_seed(0)
    values = dict(vocab_size=30, hidden_size=12, embedding_size=8, num_layers=2, dropout=0.2)
    return build_model(ModelConfig(**{**values, **options}))


@pytest.mark.parametrize(
    "options",
    [
        {"cell": "lstm"},
        {"cell": "gru"},
        {"cell": "rnn", "num_layers": 1},
        {"cell": "gru", "hidden_size": 8, "tie_weights": True},
        {"cell": "lstm", "vocab_size": 60, "hidden_size": 32, "adaptive_softmax": "20,40"},
        {"vocab_size": 60, "hidden_size": 8, "adaptive_softmax": "20,40", "adaptive_input": True},
    ],
    ids=["lstm", "gru", "rnn", "tied", "adaptive", "adaptive-tied"],
)
def test_every_cell_and_option_exports_the_same_numbers(tmp_path, options):
    model = tiny(**options)
    assert type(model.embedding).__name__ == (
        "AdaptiveInput" if options.get("adaptive_input") else "Embedding"
    )
    ids = np.random.default_rng(0).integers(0, model.config.vocab_size, 64)
    assert check.language_difference(model, exported(model, tmp_path), ids) < 1e-5


def test_conditions_in_the_ids_set_the_condition_state(tmp_path):
    model = tiny(cell="gru", condition_embedding=True, condition_ids=CONDITION_IDS)
    onnx_model = exported(model, tmp_path)
    rows = torch.tensor([[2, 4, 6, 9, 9, 5, 9, 2, 9], [9, 9, 6, 9, 2, 5, 4, 9, 9]])
    with torch.no_grad():
        logits, state = model(rows, model.initial_state(2))
    onnx_logits, onnx_state = onnx_model(rows)
    assert torch.equal(onnx_state[-1], state[-1]) and state[-1].tolist() == [[0, 0], [1, 0]]
    torch.testing.assert_close(onnx_logits, logits, atol=1e-5, rtol=1e-5)
    # carried across calls, one step at a time, as sampling feeds it
    carried = None
    for step in range(rows.shape[1]):
        one, carried = onnx_model(rows[:, step : step + 1], carried)
        torch.testing.assert_close(one[:, 0], logits[:, step], atol=1e-5, rtol=1e-5)


def test_the_cummax_form_matches_pytorch(tmp_path):
    class Running(torch.nn.Module):
        def forward(self, x):
            result = x.cummax(1)
            return result.values, result.indices

    graph._export(
        Running(), (torch.zeros(2, 5, 3, dtype=torch.long),), tmp_path / "c.onnx", ["x"],
        ["values", "indices"], {"x": {0: "b", 1: "t"}},
    )  # fmt: skip
    session = runtime.session(tmp_path / "c.onnx")
    x = torch.randint(-3, 3, (4, 9, 3))
    values, indices = session.run(None, {"x": x.numpy()})
    expected = x.cummax(1)
    assert (values == expected.values.numpy()).all() and (indices == expected.indices.numpy()).all()


def test_a_model_the_exporter_cannot_trace_is_a_one_line_error(tmp_path):
    class Unexportable(torch.nn.Module):
        def forward(self, x):
            return torch.linalg.eig(x)[0].real

    with pytest.raises(RecurError, match="^cannot export this model to ONNX: ") as caught:
        graph._export(Unexportable(), (torch.eye(3),), tmp_path / "x.onnx", ["x"], ["y"], {})
    assert "\n" not in str(caught.value)


def test_int8_weights_are_a_quarter_of_the_bytes_and_close(tmp_path):
    model = tiny(cell="gru", hidden_size=128, embedding_size=64, vocab_size=80, dropout=0.0)
    fp32 = exported(model, tmp_path)
    quantize(tmp_path / "model.onnx", tmp_path / "int8.onnx")
    ratio = (tmp_path / "model.onnx").stat().st_size / (tmp_path / "int8.onnx").stat().st_size
    assert ratio > 3.0
    int8 = runtime.load_model(tmp_path, {}, "lm", "int8.onnx")
    rows = torch.randint(0, 80, (3, 40))
    difference = (fp32(rows)[0] - int8(rows)[0]).abs().max().item()
    assert 0 < difference < 0.05


@pytest.mark.parametrize(
    "options",
    [
        {"pooling": "concat", "ensemble": 2},
        {"pooling": "attention", "bidirectional": False},
        {"pooling": "last"},
    ],
    ids=["ensemble-concat", "attention-one-way", "last"],
)
def test_every_classifier_shape_exports_the_same_numbers(tmp_path, options):
    torch.manual_seed(0)
    config = ModelConfig(cell="lstm", vocab_size=30, hidden_size=12, embedding_size=8)
    model = build_classifier(config, ClassifierConfig(classes=["a", "b", "c"], **options))
    graph.write_classifier_graph(model.eval(), tmp_path / "model.onnx")
    exported = runtime.load_model(tmp_path, {"classifier": {"classes": "abc"}}, "classifier")
    rows = [np.random.default_rng(n).integers(4, 30, n) for n in (1, 5, 17, 3)]
    assert check.classifier_difference(model, exported, rows) < 1e-5


def test_a_large_state_is_compared_relative_to_its_size_and_logits_absolutely():
    class Fixed(torch.nn.Module):
        """Logits and an LSTM-like (h, c) state, as a model and as its graph would give them."""

        def __init__(self, logit_shift=0.0, cell_shift=0.0):
            super().__init__()
            self.logit_shift, self.cell_shift = logit_shift, cell_shift

        def forward(self, ids, state=None):
            logits = torch.zeros(*ids.shape, 3) + self.logit_shift
            cell = torch.full((1, ids.shape[0], 2), 300.0) + self.cell_shift
            return logits, (torch.zeros(1, ids.shape[0], 2), cell)

    ids = np.arange(64) % 3
    model = Fixed()
    assert check.language_difference(model, Fixed(cell_shift=3e-3), ids) == pytest.approx(
        1e-5, rel=0.01
    )
    assert check.language_difference(model, Fixed(logit_shift=3e-3), ids) == pytest.approx(
        3e-3, rel=0.01
    )
