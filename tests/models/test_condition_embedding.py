"""--condition-embedding: the condition rows ride in the state, the sampler and the checkpoint."""

import pytest
import torch

import recur
from recur.config.options import ModelConfig, to_dict
from recur.models.language_model import build_model
from recur.runs import checkpoint
from recur.tokenizers import CharTokenizer
from tests.conftest import TINY_OPTIONS, assert_stepper_matches
from tests.generate.test_conditional import WORDS, write_songs

GENRES = ["<genre=a>", "<genre=b>"]


def conditioned(cell="gru"):
    torch.manual_seed(0)
    tokenizer = CharTokenizer().fit(["hello world"], GENRES)
    config = ModelConfig(
        cell=cell,
        vocab_size=tokenizer.vocab_size,
        hidden_size=8,
        embedding_size=6,
        condition_embedding=True,
        condition_ids=[tokenizer.condition_ids],
    )
    return build_model(config).eval(), tokenizer, config


def framed(tokenizer, genre: str, text: str) -> list[int]:
    return [tokenizer.bos_id, tokenizer.condition_id(genre)] + tokenizer.encode(text)


def test_the_state_carries_the_condition_and_chunks_agree():
    model, tokenizer, _ = conditioned("lstm")
    ids = torch.tensor(
        [framed(tokenizer, GENRES[0], "hello"), framed(tokenizer, GENRES[1], "world")]
    )
    logits, state = model(ids)
    assert len(state) == 3 and state[-1].tolist() == [[1], [2]]  # rows of genre a, b
    first, carried = model(ids[:, :4])
    second, _ = model(ids[:, 4:], carried)
    torch.testing.assert_close(torch.cat([first, second], 1), logits)


def test_conditioning_changes_the_output():
    model, tokenizer, _ = conditioned()
    ids = torch.tensor([tokenizer.encode("hello")] * 2)
    state = model.initial_state(2)
    state = state[:-1] + (torch.tensor([[1], [2]]),)  # same h, other condition
    logits, _ = model(ids, state)
    assert not torch.allclose(logits[0], logits[1])
    _, after_bos = model(torch.tensor([[tokenizer.bos_id]] * 2), state)
    assert after_bos[-1].tolist() == [[0], [0]]  # <bos> clears the rows


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_one_step_path_matches_the_full_model(cell):
    model, tokenizer, _ = conditioned(cell)
    ids = torch.tensor([framed(tokenizer, GENRES[0], "held"), framed(tokenizer, GENRES[1], "word")])
    assert_stepper_matches(model, ids)


def test_save_then_load_gives_identical_logits(tmp_path):
    model, tokenizer, config = conditioned()
    checkpoint.save(tmp_path / "best", model, tokenizer, {"model": to_dict(config)})
    loaded = checkpoint.load(tmp_path)
    assert loaded.model.conditioned and loaded.config["model"]["condition_ids"] == [[4, 5]]
    ids = torch.tensor([framed(tokenizer, GENRES[1], "hello")])
    assert torch.equal(model(ids)[0], loaded.model(ids)[0])


def test_trains_resumes_and_generates_on_condition(tmp_path):
    path = write_songs(
        tmp_path / "songs.csv",
        rows=200,
        seed=3,
        blank_row=False,
        song=lambda rng, words: " ".join(rng.choice(words) for _ in range(4)),
    )
    options = {**TINY_OPTIONS, "eval_every": "100", "log_every": 50}
    recur.train(
        path,
        level="word",
        text_column="lyrics",
        condition_column="genre",
        condition_embedding=True,
        steps=160,
        stop_after=80,
        out=str(tmp_path / "run"),
        quiet=True,
        **options,
    )
    model = recur.train(resume=str(tmp_path / "run"), quiet=True)
    assert model.bundle.model.conditioned
    result = model.generate_full(num_samples=6, condition="genre=metal", seed=0, length=30)
    words = " ".join(result.texts).split()
    assert sum(word in WORDS["metal"] for word in words) / len(words) > 0.9
    assert model.evaluate(path=path)["perplexity"] < 10
