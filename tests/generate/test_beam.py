"""Beam search against brute force on a toy model: it must find the most likely completion."""

import itertools

import pytest
import torch

from recur.config.options import ModelConfig, SampleConfig
from recur.generate.beam import beam_search
from recur.generate.loop import generate
from recur.models.language_model import build_model
from recur.tokenizers import CharTokenizer


def toy(seed):
    torch.manual_seed(seed)
    tokenizer = CharTokenizer().fit(["abc"])
    model = build_model(
        ModelConfig(vocab_size=tokenizer.vocab_size, hidden_size=8, embedding_size=4, num_layers=1)
    )
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(4)  # peaky distributions: greedy is often wrong
    return model, tokenizer


def log_prob(model, prefix, continuation, allowed):
    """Summed log-probability of ``continuation`` after ``prefix``, over the allowed tokens."""
    ids = torch.tensor([prefix + continuation])
    with torch.no_grad():
        logits, _ = model(ids)
    mask = torch.full((logits.shape[-1],), float("-inf"))
    mask[allowed] = 0
    logp = (logits[0] + mask).log_softmax(-1)
    return sum(logp[len(prefix) - 1 + i, t].item() for i, t in enumerate(continuation))


def best_by_brute_force(model, tokenizer, prefix, length, end_at_eos):
    letters = [tokenizer.index[c] for c in "abc"]
    allowed = letters + ([tokenizer.eos_id] if end_at_eos else [])
    candidates = []
    # With <eos>, ``length`` tokens include it: bodies of up to length - 1 tokens.
    for size in range(length) if end_at_eos else [length]:
        for body in itertools.product(letters, repeat=size):
            body = list(body)
            if end_at_eos:
                candidates.append((log_prob(model, prefix, body + [3], allowed) / (size + 1), body))
            else:
                candidates.append((log_prob(model, prefix, body, allowed), body))
    return tokenizer.decode(prefix + max(candidates)[1])


def seeds_where_greedy_is_not_best(length, end_at_eos, wanted=2):
    found = []
    for seed in range(60):
        model, tokenizer = toy(seed)
        prefix = tokenizer.encode("a") if not end_at_eos else [tokenizer.bos_id]
        best = best_by_brute_force(model, tokenizer, prefix, length, end_at_eos)
        greedy = beam_search(
            model,
            tokenizer,
            "a" if not end_at_eos else "",
            1,
            length,
            end_at_eos=end_at_eos,
            starts=[[2]] if end_at_eos else None,
        ).texts[0]
        if greedy != best:
            found.append((seed, best))
        if len(found) == wanted:
            return found
    raise AssertionError("no toy model where greedy decoding misses the best completion")


def test_beam_of_one_is_greedy():
    model, tokenizer = toy(0)
    greedy = generate(model, tokenizer, SampleConfig(prime="a", length=6, temperature=0)).texts[0]
    assert beam_search(model, tokenizer, "a", 1, 6).texts[0] == greedy


@pytest.mark.parametrize("end_at_eos", [False, True])
def test_wide_beam_finds_the_most_likely_completion(end_at_eos):
    length = 4
    for seed, best in seeds_where_greedy_is_not_best(length, end_at_eos):
        model, tokenizer = toy(seed)
        found = beam_search(
            model,
            tokenizer,
            "" if end_at_eos else "a",
            3**length,
            length,
            end_at_eos=end_at_eos,
            starts=[[2]] if end_at_eos else None,
        )
        assert found.texts[0] == best, seed
