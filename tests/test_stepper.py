import pytest
import torch

from recur.config import ModelConfig
from recur.models import build_model
from recur.stepper import Stepper


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("layers", [1, 3])
def test_one_step_path_matches_the_full_model(cell, layers):
    torch.manual_seed(0)
    model = build_model(ModelConfig(cell=cell, vocab_size=13, hidden_size=12, embedding_size=7,
                                    num_layers=layers)).eval()
    ids = torch.randint(0, 13, (3, 9))
    with torch.no_grad():
        expected, expected_state = model(ids)
        stepper = Stepper(model)
        state = stepper.to_layers(model.initial_state(3))
        steps = []
        for t in range(ids.shape[1]):
            logits, state = stepper(ids[:, t], state)
            steps.append(logits)
    torch.testing.assert_close(torch.stack(steps, 1), expected, atol=1e-5, rtol=1e-5)
    for got, want in zip(stepper.from_layers(state), expected_state):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
