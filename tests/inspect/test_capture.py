"""Captured states and recomputed gates reproduce the modules' own outputs, for every cell."""

import numpy as np
import pytest
import torch

from recur.config.classifier_options import ClassifierConfig
from recur.config.options import ModelConfig
from recur.inspect import capture
from recur.inspect.capture import capture_lm, check
from recur.inspect.classifier import capture_classifier
from recur.models.classifier import RecurrentClassifier
from recur.models.language_model import build_model


def tiny_lm(cell: str, seed: int = 0):
    torch.manual_seed(seed)
    config = ModelConfig(cell=cell, num_layers=2, hidden_size=24, embedding_size=12, vocab_size=30)
    return build_model(config).eval()


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_capture_reproduces_the_model(cell, monkeypatch):
    monkeypatch.setattr(capture, "MIN_SEGMENT", 50)  # 400 steps run as 8 segments side by side
    model = tiny_lm(cell)
    ids = torch.randint(0, 30, (400,), generator=torch.Generator().manual_seed(1))
    layers, top = capture_lm(model, ids)
    with torch.no_grad():
        logits, state = model(ids[None])
    torch.testing.assert_close(model.logits(top[None]), logits, atol=1e-5, rtol=1e-5)
    for k, layer in enumerate(layers):
        torch.testing.assert_close(torch.from_numpy(layer.states["h"][-1]), state[0][k, 0])
        if cell == "lstm":
            torch.testing.assert_close(
                torch.from_numpy(layer.states["c"][-1]), state[1][k, 0], atol=1e-5, rtol=1e-5
            )
    assert check(layers)["max_error"] < 1e-5 and check(layers)["max_join_gap"] < 1e-5
    expected_gates = {"lstm": {"input", "forget", "output"}, "gru": {"reset", "update"}}
    assert set(layers[0].gates) == expected_gates.get(cell, set())


def test_gate_saturation_counts_the_planted_gates():
    model = tiny_lm("lstm")
    hidden = model.config.hidden_size
    with torch.no_grad():  # PyTorch's order i, f, g, o: forget always open, input always shut
        model.rnn.bias_ih_l0[hidden : 2 * hidden] = 30.0
        model.rnn.bias_ih_l0[:hidden] = -30.0
    layers, _ = capture_lm(model, torch.randint(0, 30, (200,)))
    forget_left, forget_right = layers[0].gates["forget"]
    input_left, _ = layers[0].gates["input"]
    assert np.all(forget_right == 1.0) and np.all(forget_left == 0.0)
    assert np.all(input_left == 1.0)
    output_left, output_right = layers[0].gates["output"]
    assert np.all(output_left + output_right < 1.0)  # an ordinary gate is not always saturated


def test_a_wrong_gate_order_would_be_caught():
    model = tiny_lm("gru")
    ids = torch.randint(0, 30, (100,))
    layers, _ = capture_lm(model, ids)
    assert layers[0].error < 1e-5
    with torch.no_grad():  # the module's outputs now differ from what its weights give
        swapped = capture.single_layers(model.rnn)[0]
        out = capture.capture_layer(swapped, capture.lm_inputs(model, ids), "0", 0.1)[1]
        swapped.weight_hh_l0.mul_(1.5)
        layer = capture.capture_layer(swapped, capture.lm_inputs(model, ids), "0", 0.1)[0]
    assert layer.error < 1e-5 and not torch.allclose(out, torch.from_numpy(layer.states["h"]))


@pytest.mark.parametrize("bidirectional", [True, False])
def test_classifier_capture_gives_the_classifiers_logits(bidirectional):
    torch.manual_seed(0)
    config = ModelConfig(cell="lstm", num_layers=2, hidden_size=10, embedding_size=6, vocab_size=20)
    options = ClassifierConfig(
        classes=["a", "b", "c"], bidirectional=bidirectional, pooling="concat"
    )
    model = RecurrentClassifier(config, options).eval()
    ids = torch.randint(1, 20, (37,))
    with torch.no_grad():
        layers, out = capture_classifier(model, ids, 0.1)
        pooled = model.pool(out[None], torch.ones(1, 37, dtype=torch.bool), torch.tensor([37]))
        torch.testing.assert_close(model.head(pooled), model(ids[None], torch.tensor([37])))
    assert len(layers) == (4 if bidirectional else 2)
    assert max(layer.error for layer in layers) < 1e-5
