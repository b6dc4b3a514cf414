import pytest
import torch

from recur.config.options import ModelConfig, SampleConfig
from recur.errors import RecurError
from recur.generate.loop import generate
from recur.generate.sampling import TokenSampler, sample_next
from recur.models.language_model import build_model
from recur.tokenizers import CharTokenizer


def test_greedy_is_argmax():
    logits = torch.tensor([[0.1, 3.0, 0.2], [5.0, 0.0, 1.0]])
    assert sample_next(logits, temperature=0).tolist() == [1, 0]


def test_top_k_and_top_p_restrict_the_choices():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]])).expand(500, -1)
    generator = torch.Generator().manual_seed(0)
    assert set(sample_next(logits, 1.0, top_k=2, generator=generator).tolist()) == {0, 1}
    # 0.5 + 0.3 reaches 0.8: the nucleus is the first two tokens.
    assert set(sample_next(logits, 1.0, top_p=0.8, generator=generator).tolist()) == {0, 1}
    assert set(sample_next(logits, 1.0, top_p=0.81, generator=generator).tolist()) == {0, 1, 2}
    assert set(sample_next(logits, 1.0, generator=generator).tolist()) == {0, 1, 2, 3}


def test_draws_follow_the_softmax_at_the_temperature():
    probabilities = torch.tensor([0.5, 0.3, 0.15, 0.05])
    logits = (probabilities.log() * 0.5).expand(20_000, -1)  # at temperature 0.5: as above
    ids = sample_next(logits, 0.5, generator=torch.Generator().manual_seed(0))
    assert (torch.bincount(ids, minlength=4) / 20_000 - probabilities).abs().max() < 0.015


def test_token_sampler_draws_fresh_noise_each_step_and_never_a_banned_id():
    logits = torch.log(torch.tensor([[0.4, 0.3, 0.2, 0.1]]))
    sampler = TokenSampler(
        (1, 4), 1.0, 0, 1.0, torch.Generator().manual_seed(0), banned=torch.tensor([3])
    )
    ids = torch.cat([sampler(logits) for _ in range(6_000)])
    expected = torch.tensor([0.4, 0.3, 0.2, 0.0]) / 0.9
    assert (torch.bincount(ids, minlength=4) / 6_000 - expected).abs().max() < 0.025
    restricted = TokenSampler(
        (1, 4), 1.0, 2, 1.0, torch.Generator().manual_seed(0), banned=torch.tensor([0])
    )
    assert {int(restricted(logits)) for _ in range(200)} == {1, 2}


@pytest.fixture
def tiny_model():
    torch.manual_seed(0)
    tokenizer = CharTokenizer().fit(["abcdefgh \n"])
    model = build_model(
        ModelConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, embedding_size=8)
    )
    return model, tokenizer


def test_seeded_sampling_is_reproducible_and_batched(tiny_model):
    model, tokenizer = tiny_model
    first = generate(
        model, tokenizer, SampleConfig(prime="ab", length=40, num_samples=4, seed=7)
    ).texts
    again = generate(
        model, tokenizer, SampleConfig(prime="ab", length=40, num_samples=4, seed=7)
    ).texts
    other = generate(
        model, tokenizer, SampleConfig(prime="ab", length=40, num_samples=4, seed=8)
    ).texts
    assert first == again and first != other
    assert len(set(first)) == 4 and all(t.startswith("ab") and len(t) == 42 for t in first)


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_reduced_precision_sampling_is_seeded_too(tiny_model, precision):
    model, tokenizer = tiny_model
    sample = SampleConfig(prime="ab", length=40, num_samples=3, seed=7, precision=precision)
    first = generate(model, tokenizer, sample).texts
    again = generate(model, tokenizer, sample).texts
    assert first == again and all(t.startswith("ab") and len(t) == 42 for t in first)


def test_carried_state_matches_refeeding_the_prefix(tiny_model):
    model, tokenizer = tiny_model
    text = generate(model, tokenizer, SampleConfig(prime="abc", length=12, temperature=0)).texts[0]
    ids = torch.tensor([tokenizer.encode(text)])
    logits, _ = model(ids)
    # Greedy choice at each step equals the argmax of a full forward pass over the prefix.
    banned = [tokenizer.pad_id, tokenizer.unk_id, tokenizer.bos_id]
    logits[..., banned] = float("-inf")
    assert logits[0, 2:-1].argmax(-1).tolist() == ids[0, 3:].tolist()


def test_unknown_prime_character_is_named(tiny_model):
    model, tokenizer = tiny_model
    with pytest.raises(RecurError, match=r"never saw: 'Z', '!'"):
        generate(model, tokenizer, SampleConfig(prime="aZb!", length=5))


def test_stop_string_ends_samples(tiny_model):
    model, tokenizer = tiny_model
    texts = generate(
        model, tokenizer, SampleConfig(prime="a", length=400, num_samples=3, seed=1, stop="a")
    ).texts
    assert all("a" not in t[1:] for t in texts)
    assert all(len(t) < 400 for t in texts)


def test_never_samples_special_tokens(tiny_model):
    model, tokenizer = tiny_model
    with torch.no_grad():
        model.decoder.bias[tokenizer.unk_id] = 100.0
    texts = generate(
        model, tokenizer, SampleConfig(prime="a", length=50, num_samples=2, seed=0)
    ).texts
    assert all("<unk>" not in t for t in texts) and all(len(t) == 51 for t in texts)


def test_refresh_feeds_the_condition_after_every_line_end():
    from recur.data.streams import frame_documents

    torch.manual_seed(5)
    tokenizer = CharTokenizer().fit(["ab\n"], ["<g=x>"])
    model = build_model(
        ModelConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, embedding_size=8)
    )
    newline, mark = tokenizer.index["\n"], tokenizer.condition_id("<g=x>")
    with torch.no_grad():  # a toy whose greedy text has letters and lines
        for parameter in model.parameters():
            parameter.mul_(3)
        model.decoder.bias[newline] += 1.0
    sample = SampleConfig(prime="b\n", length=40, temperature=0)
    text = generate(model, tokenizer, sample, starts=[[2, mark]], refresh=newline).texts[0]
    assert text.startswith("b\n")
    assert text.count("\n") >= 2 and len(text.replace("\n", "")) >= 5
    # The same ids as training frames them: greedy choices match a full forward pass.
    ids = frame_documents(tokenizer, [text], [{"g": "x"}], ["g"], every_line=True)[:-1]
    assert (ids == mark).sum() == 1 + text.count("\n")
    logits, _ = model(torch.tensor([ids.tolist()]))
    logits[..., [0, 1, 2, 3, mark]] = float("-inf")
    for position in range(4, len(ids) - 1):  # after <bos> <g=x> b \n <g=x>: generated
        if ids[position + 1] != mark:
            assert logits[0, position].argmax().item() == ids[position + 1]


def test_samples_past_max_words_are_abandoned_not_finished(tiny_model):
    model, tokenizer = tiny_model
    with torch.no_grad():
        model.decoder.bias[tokenizer.index[" "]] += 3.0  # many short words
    result = generate(
        model,
        tokenizer,
        SampleConfig(length=64, num_samples=6, seed=0, max_words=2),
        end_at_eos=True,
        starts=[[tokenizer.bos_id]] * 6,
    )
    assert not all(result.finished)
    assert all(len(text.split()) <= 2 for text, done in zip(result.texts, result.finished) if done)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["generate", "RUN"], 1),  # one stream: one thread
        (["generate", "RUN", "-n", "4"], 1),
        (["generate", "RUN", "-n", "64"], "all"),  # many streams: every core
        (["generate", "RUN", "--beam", "8"], "all"),  # a beam steps K streams
        (["generate", "RUN", "--guidance", "1"], None),  # guided: extra streams, left alone
        (["generate", "RUN", "--device", "cuda"], None),
    ],
)
def test_generation_threads_follow_the_number_of_streams(argv, expected, monkeypatch):
    from recur.cli import _generation_threads, build_parser

    monkeypatch.setattr(torch, "get_num_threads", lambda: 8)
    chosen = _generation_threads(build_parser().parse_args(argv))
    assert chosen == (8 if expected == "all" else expected)


def step_by_step(monkeypatch):
    """From here on generate() takes the Python step-by-step loop, never the scripted blocks."""
    import recur.generate.loop as generation

    monkeypatch.setattr(generation._Loop, "in_blocks", generation._Loop.step_by_step)


@pytest.mark.parametrize(
    "options",
    [
        dict(temperature=0.8),
        dict(temperature=0),
        dict(temperature=1.2, top_k=4, top_p=0.9),
        dict(temperature=1.0, end_at_eos=True, max_words=1),
    ],
)
def test_blocks_in_the_scripted_loop_draw_what_the_step_by_step_loop_draws(
    tiny_model, options, monkeypatch
):
    model, tokenizer = tiny_model
    with torch.no_grad():
        model.decoder.bias[tokenizer.eos_id] += 1.0  # some rows end early
    kwargs = dict(length=70, num_samples=5, seed=3, **options)
    if options.get("end_at_eos"):
        kwargs["starts"] = [[tokenizer.bos_id]] * 5
    fast = generate(model, tokenizer, **kwargs)
    step_by_step(monkeypatch)
    slow = generate(model, tokenizer, **kwargs)
    assert fast.texts == slow.texts and fast.finished == slow.finished
    assert len(set(fast.texts)) > 1 or options["temperature"] == 0


def test_scripted_blocks_refresh_the_condition_as_the_step_by_step_loop(monkeypatch):
    torch.manual_seed(5)
    tokenizer = CharTokenizer().fit(["ab\n"], ["<g=x>"])
    model = build_model(
        ModelConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, embedding_size=8)
    )
    newline, mark = tokenizer.index["\n"], tokenizer.condition_id("<g=x>")
    with torch.no_grad():
        model.decoder.bias[newline] += 1.5
    kwargs = dict(
        length=60,
        num_samples=3,
        temperature=1.0,
        seed=2,
        refresh=newline,
        starts=[[tokenizer.bos_id, mark]] * 3,
    )
    fast = generate(model, tokenizer, prime="b", **kwargs).texts  # the keywords' form
    step_by_step(monkeypatch)
    assert fast == generate(model, tokenizer, prime="b", **kwargs).texts
    assert sum(text.count("\n") for text in fast) >= 6


def test_scripted_blocks_draw_guided_samples_as_the_step_by_step_loop(tiny_model, monkeypatch):
    from recur.generate.loop import Guidance

    model, tokenizer = tiny_model
    wanted, other = tokenizer.index["a"], tokenizer.index["b"]
    kwargs = dict(
        length=50,
        num_samples=3,
        temperature=1.0,
        seed=4,
        top_p=0.95,
        guidance=Guidance(weight=2.0, groups=2),
        starts=[[tokenizer.bos_id, wanted]] * 3 + [[tokenizer.bos_id, other]] * 3,
    )
    fast = generate(model, tokenizer, **kwargs).texts
    step_by_step(monkeypatch)
    slow = generate(model, tokenizer, **kwargs).texts
    unguided = generate(model, tokenizer, **{**kwargs, "guidance": Guidance(0.0, 2)}).texts
    assert fast == slow and len(fast) == 3 and fast != unguided
