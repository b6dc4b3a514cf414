"""Dynamic evaluation and the neural cache: exact when switched off, better on a text that
repeats itself, and the trained model is never changed."""

import pytest
import torch

import recur
import recur.cli
from recur.config.evaluate_options import EvaluateConfig
from recur.errors import RecurError
from recur.lm.adaptive import cache_loss, dynamic_loss
from recur.lm.evaluate import stream_loss
from tests.conftest import plain_word_options, tiny_text

OPTIONS = {
    **plain_word_options(),  # the plain model these figures were set for, not the word preset
    **dict(hidden_size=48, num_layers=1, seq_length=32, batch_size=8, lr=0.01),
    **dict(seed=0, samples=0, threads=1),
}


@pytest.fixture(scope="module")
def word_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("adaptive")
    corpus = folder / "corpus.txt"
    corpus.write_text(tiny_text(200))
    model = recur.train(
        str(corpus), out=str(folder / "run"), level="word", steps=40, quiet=True, **OPTIONS
    )
    return model


def encoded(model, text):
    return model.bundle.tokenizer.encode_array(text)


def test_switched_off_they_equal_the_plain_stream(word_run):
    ids = encoded(word_run, tiny_text(30, seed=3))
    plain, count = stream_loss(word_run.bundle.model, ids)
    still = EvaluateConfig(dynamic_lr=0.0, dynamic_decay=0.0, cache_lambda=0.0)
    dynamic, dynamic_count = dynamic_loss(word_run.bundle.model, ids, still, "word")
    cached, cached_count = cache_loss(word_run.bundle.model, ids, still)
    assert count == dynamic_count == cached_count == len(ids) - 1
    assert dynamic == pytest.approx(plain, rel=1e-5)
    assert cached == pytest.approx(plain, rel=1e-5)


def test_a_repeated_text_is_predicted_better_the_second_time(word_run):
    passage = tiny_text(12, seed=5)
    ids = encoded(word_run, passage + "\n" + passage)
    plain, _ = stream_loss(word_run.bundle.model, ids)
    dynamic, _ = dynamic_loss(word_run.bundle.model, ids, EvaluateConfig(dynamic_lr=0.01), "word")
    cached, _ = cache_loss(word_run.bundle.model, ids, EvaluateConfig(cache_lambda=0.3))
    assert dynamic < plain * 0.97
    assert cached < plain * 0.97


def test_the_trained_weights_are_left_alone(word_run):
    before = {k: v.clone() for k, v in word_run.bundle.model.state_dict().items()}
    word_run.evaluate(text=tiny_text(10, seed=4), dynamic=True)
    for name, value in word_run.bundle.model.state_dict().items():
        assert torch.equal(value, before[name]), name


def test_the_cli_reports_the_method(word_run, tmp_path, capsys):
    text = tmp_path / "held_out.txt"
    text.write_text(tiny_text(10, seed=6))
    assert recur.cli.main(["evaluate", str(word_run.path.parent), str(text), "--cache"]) == 0
    assert "(neural cache)" in capsys.readouterr().out


def test_bad_settings_are_refused(word_run):
    with pytest.raises(RecurError, match="--cache-lambda 2.0: must be from 0 to 1"):
        word_run.evaluate(text="the cat", cache=True, cache_lambda=2.0)
