import pytest
import torch

from recur.config.options import ModelConfig
from recur.generate.stepper import Stepper
from recur.models.language_model import build_model
from tests.conftest import assert_stepper_matches, step_through


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("layers", [1, 3])
def test_one_step_path_matches_the_full_model(cell, layers):
    torch.manual_seed(0)
    model = build_model(
        ModelConfig(cell=cell, vocab_size=13, hidden_size=12, embedding_size=7, num_layers=layers)
    ).eval()
    ids = torch.randint(0, 13, (3, 9))
    assert_stepper_matches(model, ids)


@pytest.mark.parametrize("precision,tolerance", [("bf16", 0.05), ("int8", 0.1)])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_reduced_precision_steps_stay_close_to_the_model(cell, precision, tolerance):
    torch.manual_seed(0)
    # 256 wide: products under stepper.SMALL_PRODUCT weights stay fp32 at any precision
    model = build_model(
        ModelConfig(cell=cell, vocab_size=29, hidden_size=256, embedding_size=16, num_layers=2)
    ).eval()
    ids = torch.randint(0, 29, (4, 12))
    with torch.no_grad():
        expected = model(ids)[0].log_softmax(-1)
    stepped, _ = step_through(Stepper(model, precision), model, ids)
    error = (stepped.log_softmax(-1) - expected).abs().max().item()
    assert 0 < error < tolerance  # really a different path, and still the same model


def test_small_products_stay_fp32_at_any_precision():
    from recur.generate.stepper import build_product

    small, large = torch.randn(65, 512), torch.randn(1024, 512)
    assert build_product(small, None, "int8").precision == "fp32"
    assert build_product(large, None, "int8").precision == "int8"


def test_unknown_precision_is_an_error():
    from recur.errors import RecurError

    model = build_model(ModelConfig(vocab_size=5, hidden_size=8, embedding_size=4))
    with pytest.raises(RecurError, match="fp32, bf16, int8"):
        Stepper(model, "fp8")


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_the_scripted_step_is_the_python_step(cell):
    torch.manual_seed(0)
    model = build_model(
        ModelConfig(cell=cell, vocab_size=13, hidden_size=12, embedding_size=7, num_layers=2)
    ).eval()
    ids = torch.randint(0, 13, (3, 9))
    scripted, python = Stepper(model), Stepper(model, script=False)
    assert scripted.scripted and not python.scripted
    got, got_layers = step_through(scripted, model, ids)
    want, want_layers = step_through(python, model, ids)
    torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-6)
    noise = torch.rand(5, 3, 13)
    last = torch.randn(3, 13)
    drawn = scripted.draw(last, want_layers, noise)
    expected = python.draw(last, want_layers, noise)
    assert torch.equal(drawn[0], expected[0])
    torch.testing.assert_close(drawn[1], expected[1], atol=1e-6, rtol=1e-6)


def test_a_build_that_cannot_script_keeps_the_python_step(monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("no TorchScript here")

    monkeypatch.setattr(torch.jit, "script", refuse)
    torch.manual_seed(0)
    model = build_model(ModelConfig(vocab_size=13, hidden_size=12, embedding_size=7)).eval()
    stepper = Stepper(model)
    assert not stepper.scripted
    assert_stepper_matches(model, torch.randint(0, 13, (2, 5)))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_a_big_vocabulary_steps_from_the_embedding_not_a_table(cell, monkeypatch):
    """Over TABLE_ELEMENTS the (V, G*H) input table is not built: layer 0's input products
    come from the embedding row per step, with the same logits and states."""
    from recur.generate import stepper

    monkeypatch.setattr(stepper, "TABLE_ELEMENTS", 0)  # every table here is bigger
    torch.manual_seed(0)
    model = build_model(
        ModelConfig(cell=cell, vocab_size=13, hidden_size=12, embedding_size=7, num_layers=2)
    ).eval()
    assert tuple(Stepper(model).net.input_table.shape) == (13, 7)  # the embedding itself
    assert_stepper_matches(model, torch.randint(0, 13, (3, 9)))


def test_a_conditioned_big_vocabulary_model_steps_like_the_model(monkeypatch):
    from recur.generate import stepper

    monkeypatch.setattr(stepper, "TABLE_ELEMENTS", 0)
    torch.manual_seed(0)
    config = ModelConfig(
        vocab_size=13,
        hidden_size=12,
        embedding_size=7,
        num_layers=2,
        condition_ids=[[3, 4]],
        condition_embedding=True,
    )
    model = build_model(config).eval()
    assert Stepper(model).conditioned
    assert_stepper_matches(model, torch.randint(0, 13, (3, 9)))
