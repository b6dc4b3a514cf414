"""Tied adaptive input and softmax (models/adaptive_io.py): one set of cluster tables serves the
embedding and the softmax, its loss and log-probabilities agree, under bf16 too, and runs saved
before the option load with their untied embedding."""

import torch
import torch.nn.functional as F
from torch import nn

from recur.config.options import ModelConfig, to_dict
from recur.models.adaptive_io import AdaptiveInput, TiedAdaptiveSoftmax
from recur.models.language_model import build_model, count_parameters
from recur.runs import checkpoint
from recur.tokenizers import WordTokenizer
from tests.conftest import assert_stepper_matches

VOCAB, CUTOFFS = 60, "20,40"


def tied(**options) -> nn.Module:
    torch.manual_seed(0)
    values = dict(
        cell="lstm", vocab_size=VOCAB, hidden_size=16, embedding_size=16,
        adaptive_softmax=CUTOFFS, embedding_init_range=0.25,
    )  # fmt: skip
    return build_model(ModelConfig(**{**values, **options})).eval()


def test_the_loss_is_the_cross_entropy_of_the_log_probabilities():
    model = tied()
    assert isinstance(model.embedding, AdaptiveInput)
    assert isinstance(model.decoder, TiedAdaptiveSoftmax)
    ids, targets = torch.randint(0, VOCAB, (3, 9)), torch.randint(0, VOCAB, (3, 9))
    logits, _ = model(ids)
    torch.testing.assert_close(logits.logsumexp(-1), torch.zeros(3, 9), atol=1e-5, rtol=0)
    expected = -F.log_softmax(logits, -1).gather(-1, targets[..., None]).mean()
    loss, _ = model(ids, targets=targets)
    torch.testing.assert_close(loss, expected)
    # the module's own forward (PyTorch's cluster walk) gives the same loss
    hidden = torch.randn(20, 16)
    picks = torch.randint(0, VOCAB, (20,))
    torch.testing.assert_close(model.decoder(hidden, picks).loss, model.loss(hidden, picks))


def test_the_clusters_are_one_set_of_tensors_shared_by_input_and_softmax():
    model = tied().train()
    untied = tied(adaptive_input=False)
    assert isinstance(untied.embedding, nn.Embedding)
    assert count_parameters(model) < count_parameters(untied)
    names = [name for name, _ in model.named_parameters()]
    assert not any(name.startswith("decoder.tail") for name in names)
    # a rare word seen only as a target still trains its input row, through the softmax
    ids = torch.full((2, 5), 3)  # shortlist inputs only
    targets = torch.full((2, 5), 50)  # the last cluster
    loss, _ = model(ids, targets=targets)
    loss.backward()
    rows = model.embedding.tables[2].weight.grad
    assert rows is not None and rows[50 - 40].abs().sum() > 0
    projection = model.embedding.projections[2].weight.grad
    assert projection is not None and projection.abs().sum() > 0
    # ... and the same row moves the input: one tensor, not a copy
    with torch.no_grad():
        model.embedding.tables[2].weight[50 - 40] += 1.0
    moved = model.eval().logits(torch.ones(1, 16))[0, 50]
    assert moved != tied().logits(torch.ones(1, 16))[0, 50]


def test_the_input_is_the_projected_cluster_row():
    model = tied()
    ids = torch.arange(VOCAB)[None]
    with torch.no_grad():
        table = model.embedding.weight
        expected = torch.cat([model.embedding.tables[0].weight[:20], table[20:]])
        torch.testing.assert_close(model.embedding(ids)[0], expected)
        narrow = model.embedding.tables[2].weight[3] @ model.embedding.projections[2].weight.t()
        torch.testing.assert_close(model.embedding(torch.tensor([43]))[0], narrow)


def test_bf16_loss_is_close_to_fp32():
    model = tied(hidden_size=64, embedding_size=64)
    hidden = torch.randn(300, 64)
    targets = torch.randint(0, VOCAB, (300,))
    full = model.loss(hidden, targets)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = model.loss(hidden, targets)
    assert low.dtype == torch.float32 and abs(low.item() - full.item()) < 0.02 * full.item()


def test_the_one_step_path_matches_the_full_model():
    assert_stepper_matches(tied(), torch.randint(0, VOCAB, (2, 6)))


def test_a_run_saved_before_the_option_loads_untied(tmp_path):
    tokenizer = WordTokenizer().fit([" ".join(f"w{i}" for i in range(VOCAB - 8))])
    vocab = tokenizer.vocab_size
    config = ModelConfig(
        vocab_size=vocab, hidden_size=16, embedding_size=16, adaptive_softmax="20,40",
        adaptive_input=False,
    )  # fmt: skip
    model = build_model(config).eval()
    saved = to_dict(config)
    del saved["adaptive_input"]  # as recur wrote config.json before the option
    checkpoint.save(tmp_path / "best", model, tokenizer, {"model": saved})
    loaded = checkpoint.load(tmp_path).model
    assert isinstance(loaded.embedding, nn.Embedding) and loaded.adaptive
    ids = torch.randint(0, vocab, (1, 7))
    assert torch.equal(model(ids)[0], loaded(ids)[0])
    # and a tied run round-trips
    config.adaptive_input = True
    model = build_model(config).eval()
    checkpoint.save(tmp_path / "tied" / "best", model, tokenizer, {"model": to_dict(config)})
    loaded = checkpoint.load(tmp_path / "tied").model
    assert isinstance(loaded.decoder, TiedAdaptiveSoftmax)
    assert torch.equal(model(ids)[0], loaded(ids)[0])


def test_a_classifier_copies_the_full_table_of_an_adaptive_input():
    from recur.config.options import ClassifierConfig
    from recur.models.classifier import build_classifier, load_encoder

    lm = tied()
    classifier = build_classifier(lm.config, ClassifierConfig(classes=["a", "b"]))
    assert "embedding.weight" in load_encoder(classifier, lm)
    with torch.no_grad():
        torch.testing.assert_close(classifier.embedding.weight, lm.embedding.weight)


def test_the_div_value_narrows_the_clusters_on_both_ends():
    model = tied(adaptive_div_value=2.0)
    widths = [table.weight.shape[1] for table in model.embedding.tables]
    assert widths == [16, 8, 4] and model.decoder.div_value == 2.0
    ids, targets = torch.randint(0, VOCAB, (2, 5)), torch.randint(0, VOCAB, (2, 5))
    logits, _ = model(ids)
    loss, _ = model(ids, targets=targets)
    torch.testing.assert_close(
        loss, F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))
    )
    untied = tied(adaptive_div_value=2.0, adaptive_input=False)
    assert untied.decoder.tail[1][0].out_features == 4  # PyTorch's module: 16 / 2**2
