"""The adaptive softmax output layer: same contract as the full softmax, everywhere it is used."""

import pytest
import torch
import torch.nn.functional as F

import recur
from recur.config.options import ModelConfig, to_dict
from recur.errors import RecurError
from recur.models.language_model import build_model
from recur.runs import checkpoint
from recur.tokenizers import CharTokenizer
from tests.conftest import TINY_OPTIONS, assert_stepper_matches, plain_word_options, tiny_text


def adaptive(cell="lstm", vocab=40, cutoffs="8,20", shared=False):
    torch.manual_seed(0)
    return build_model(
        ModelConfig(
            cell=cell,
            vocab_size=vocab,
            hidden_size=16,
            embedding_size=16,
            adaptive_softmax=cutoffs,
            adaptive_input=shared,
        )
    ).eval()


@pytest.mark.parametrize("shared", [False, True], ids=["untied", "adaptive-input"])
def test_logits_are_log_probabilities_and_the_loss_path_agrees(shared):
    model = adaptive(shared=shared)
    ids, targets = torch.randint(0, 40, (3, 7)), torch.randint(0, 40, (3, 7))
    logits, state = model(ids)
    assert logits.shape == (3, 7, 40) and not model.tied
    torch.testing.assert_close(logits.logsumexp(-1), torch.zeros(3, 7), atol=1e-5, rtol=0)
    loss, loss_state = model(ids, targets=targets)
    torch.testing.assert_close(loss, F.cross_entropy(logits.reshape(-1, 40), targets.reshape(-1)))
    torch.testing.assert_close(loss_state[0], state[0])


@pytest.mark.parametrize("shared", [False, True], ids=["untied", "adaptive-input"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_one_step_path_matches_the_full_model(cell, shared):
    model = adaptive(cell, shared=shared)
    ids = torch.randint(0, 40, (2, 6))
    assert_stepper_matches(model, ids)


def test_save_then_load_gives_identical_logits(tmp_path):
    tokenizer = CharTokenizer().fit(["hello world, a longer line of text"])
    config = ModelConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=16, embedding_size=8, adaptive_softmax="6,12"
    )
    model = build_model(config)
    checkpoint.save(tmp_path / "best", model, tokenizer, {"model": to_dict(config)})
    ids = torch.tensor([tokenizer.encode("hello")])
    assert torch.equal(model(ids)[0], checkpoint.load(tmp_path).model(ids)[0])


def test_bad_cutoffs_are_errors():
    with pytest.raises(RecurError, match="must increase"):
        adaptive(cutoffs="20,8")
    with pytest.raises(RecurError, match="must increase"):
        adaptive(cutoffs="8,39")
    with pytest.raises(RecurError, match="token ids"):
        adaptive(cutoffs="many")


# The plain GRU this test was written for, not the word preset's regularised LSTM.
PLAIN_WORD = plain_word_options()


def test_word_model_trains_generates_evaluates_and_beams(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text(tiny_text())
    model = recur.train(
        path,
        level="word",
        adaptive_softmax="6,14",
        steps=60,
        out=str(tmp_path / "run"),
        quiet=True,
        **{**PLAIN_WORD, **TINY_OPTIONS, "eval_every": "60", "lr": 2e-2},
    )
    result = model.evaluate(path=path)
    assert result["perplexity"] < 15  # 26 words, learned well beyond uniform
    texts = model.generate(num_samples=2, length=20, seed=0)
    assert len(texts) == 2 and all(texts)
    assert model.generate("the cat", beam=3, length=8)[0].startswith("the cat")


def test_auto_picks_the_adaptive_softmax_for_large_vocabularies_only():
    from recur.models.language_model import parse_cutoffs

    assert parse_cutoffs("auto", 33281) == [2000, 10000]
    assert parse_cutoffs("auto", 8000) == [] and parse_cutoffs("none", 33281) == []
    assert build_model(ModelConfig(vocab_size=50, hidden_size=8, embedding_size=8)).tied  # auto


def test_runs_saved_before_the_option_load_with_a_full_softmax(tmp_path):
    import json

    from recur.tokenizers import WordTokenizer

    words = [f"w{i}" for i in range(20_010)]
    tokenizer = WordTokenizer().fit([" ".join(words)])
    config = ModelConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=4, embedding_size=4, adaptive_softmax="none"
    )
    saved = to_dict(config)
    del saved["adaptive_softmax"]  # as an older recur wrote config.json
    checkpoint.save(tmp_path / "best", build_model(config), tokenizer, {"model": saved})
    assert (
        json.loads((tmp_path / "best" / "config.json").read_text())["model"].get("adaptive_softmax")
        is None
    )
    assert not checkpoint.load(tmp_path).model.adaptive
