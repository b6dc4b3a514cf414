"""--optimizer muon: the Newton-Schulz orthogonalisation, which matrices Muon steps, and a run
that trains and resumes bit for bit."""

import pytest
import torch

from recur.config.options import CELLS, ModelConfig, TrainConfig
from recur.models.language_model import RecurrentLM
from recur.training.muon import MuonAdamW, orthogonalise
from recur.training.optimizer import build_optimizer
from tests.training.test_optimizer import train_and_resume


@pytest.mark.parametrize("shape", [(3, 32, 32), (4, 48, 16), (1, 16, 40)])
@pytest.mark.parametrize("steps, smallest, largest_ratio", [(5, 0.5, 2.0), (3, 0.15, 8.0)])
def test_orthogonalise_keeps_the_directions_and_evens_the_scales(
    shape, steps, smallest, largest_ratio
):
    """Each block comes back as U S' V^T of its own SVD with singular values spread 1 to 1e-2
    brought near 1: five iterations into the quintic iteration's band, three part of the way
    (--newton-schulz-steps), however the block was scaled."""
    torch.manual_seed(0)
    u, _, v = torch.linalg.svd(torch.randn(shape), full_matrices=False)
    spread = torch.logspace(0, -2, u.size(-1))  # singular values from 1 down to 1e-2
    blocks = u @ torch.diag_embed(spread) @ v * 7.0
    result = orthogonalise(blocks, steps)
    assert result.shape == blocks.shape and result.dtype == torch.float32
    values = torch.linalg.svdvals(result)
    assert values.min() > smallest and values.max() < 1.6
    assert (values.max(-1).values / values.min(-1).values).max() < largest_ratio
    target = u @ v  # the exact orthogonal factor
    cosine = (result * target).sum(dim=(1, 2)) / (result.norm(dim=(1, 2)) * target.norm(dim=(1, 2)))
    assert cosine.min() > 0.9


@pytest.mark.parametrize("cell, gates", [("gru", 3), ("lstm", 4), ("rnn", 1)])
def test_muon_steps_the_recurrent_matrices_gate_by_gate(cell, gates):
    model = RecurrentLM(ModelConfig(vocab_size=20, cell=cell, hidden_size=16, embedding_size=8))
    train = TrainConfig(optimizer="muon", weight_decay=0.2, newton_schulz_steps=2)
    optimizer = build_optimizer(model, train)
    assert isinstance(optimizer, MuonAdamW) and optimizer.newton_schulz_steps == 2
    names = {id(p): n for n, p in model.named_parameters()}
    groups = [group for group in optimizer.param_groups if group["muon"]]
    muon = {names[id(p)]: group["gates"] for group in groups for p in group["params"]}
    assert muon == {
        f"rnn.weight_{kind}_l{layer}": gates for kind in ("ih", "hh") for layer in (0, 1)
    }
    adam = {names[id(p)] for g in optimizer.adamw.param_groups for p in g["params"]}
    assert {"embedding.weight", "decoder.weight", "rnn.bias_hh_l0"} <= adam
    assert not adam & set(muon)


def test_a_muon_step_is_the_scaled_orthogonal_momentum():
    """The first step of a matrix: weight decay, then -lr x scale x 0.2 sqrt(max side) x the
    orthogonalised Nesterov momentum of each gate block."""
    weight = torch.nn.Parameter(torch.randn(6, 4))
    weight.grad = torch.randn(6, 4)
    group = {"params": [weight], "weight_decay": 0.1, "muon": True, "gates": 2}
    optimizer = MuonAdamW([group], lr=0.01, betas=(0.9, 0.99), lr_scale=2.0, newton_schulz_steps=4)
    before = weight.detach().clone()
    optimizer.step()
    nesterov = weight.grad * (0.05 + 0.95 * 0.05)  # the buffer starts at 0.05 x the gradient
    update = orthogonalise(nesterov.reshape(2, 3, 4), 4).reshape(6, 4)
    expected = before * (1 - 0.01 * 0.1) - 0.01 * 2.0 * 0.2 * 2.0 * update
    assert torch.allclose(weight.detach(), expected, atol=1e-6)


def test_muon_trains_and_resumes_exactly(corpus_file, tmp_path):
    state = train_and_resume(corpus_file, tmp_path, optimizer="muon")
    groups = state["optimizer"]["param_groups"]
    assert sum(group["muon"] for group in groups) >= 1 and "betas" in groups[0]


@pytest.mark.parametrize("cell", CELLS)
def test_every_cell_takes_a_muon_step(cell):
    """Each cell's recurrent matrices (classic stacked gates, minGRU/minLSTM linear layers, the
    Mogrifier's) go to Muon, and a step moves them and keeps the model finite."""
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=20, cell=cell, hidden_size=16, embedding_size=16)
    model = RecurrentLM(config)
    optimizer = build_optimizer(model, TrainConfig(optimizer="muon"))
    stepped = [p for group in optimizer.param_groups if group["muon"] for p in group["params"]]
    assert stepped
    before = [p.detach().clone() for p in stepped]
    ids = torch.randint(0, 20, (2, 8))
    logits, _ = model(ids, None)
    torch.nn.functional.cross_entropy(logits.flatten(0, 1), ids.flatten()).backward()
    optimizer.step()
    assert all(not torch.equal(p, q) for p, q in zip(stepped, before))
    assert all(torch.isfinite(p).all() for p in model.parameters())
