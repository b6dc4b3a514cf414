"""Sampling from language models: one pure ``sample_next`` and the generation loop built on it.

Generation feeds the prime once (one long call, where oneDNN is fast), then carries the hidden
state one token at a time through ``Stepper`` (never re-feeds the prefix, never takes oneDNN's slow
one-step path). All samples are generated together as one batch.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import RecurError
from .stepper import Stepper

STOP_CHECK_EVERY = 16


def sample_next(logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0,
                top_p: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Next ids (B,) from logits (B, V): greedy at temperature 0, else top-k / nucleus sampling."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    logits = logits.float() / temperature
    if 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        # Drop a token when the tokens before it already reach top_p (the first always stays).
        drop = cumulative - sorted_logits.softmax(dim=-1) >= top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    probabilities = logits.softmax(dim=-1)
    return torch.multinomial(probabilities, 1, generator=generator).squeeze(-1)


@dataclass
class Generation:
    texts: list
    seed: int


def encode_prime(tokenizer, prime: str) -> list[int]:
    unknown = tokenizer.unknown(prime)
    if unknown:
        shown = ", ".join(repr(ch) for ch in unknown[:10])
        raise RecurError(f"the prime contains characters the model never saw: {shown}; "
                         "remove or replace them")
    return tokenizer.encode(prime)


def start_ids(tokenizer, prime: str) -> tuple[list[int], int]:
    """Ids to feed first and how many of them are shown: a prime, else a hidden newline."""
    if prime:
        return encode_prime(tokenizer, prime), 0
    if "\n" in tokenizer.index:
        return [tokenizer.index["\n"]], 1
    return [tokenizer.bos_id], 1


@torch.no_grad()
def generate(model, tokenizer, prime: str = "", length: int = 500, num_samples: int = 1,
             temperature: float = 0.8, top_k: int = 0, top_p: float = 1.0,
             seed: int | None = None, stop: str | None = None, device="cpu",
             end_at_eos: bool = False) -> Generation:
    """``num_samples`` continuations of ``prime``, each ``length`` tokens (or up to ``stop``).

    Special tokens are never sampled; ``<eos>`` only when ``end_at_eos`` (document models)."""
    if length < 0 or num_samples < 1:
        raise RecurError("--length must be >= 0 and -n >= 1")
    seed = int(torch.randint(0, 2**31 - 1, ()).item()) if seed is None else seed
    generator = torch.Generator(device=device).manual_seed(seed)
    was_training = model.training
    model.eval()
    ids, hidden = start_ids(tokenizer, prime)
    prefix = torch.tensor(ids, device=device).expand(num_samples, -1)        # (N, P)
    logits, state = model(prefix, None)                                      # whole prime at once
    banned = [tokenizer.pad_id, tokenizer.unk_id, tokenizer.bos_id] + (
        [] if end_at_eos else [tokenizer.eos_id])
    banned = torch.tensor(banned, device=device)
    last = logits[:, -1].index_fill(-1, banned, float("-inf"))              # (N, V)
    steps, done = [], [False] * num_samples
    stepper = Stepper(model)
    layers = stepper.to_layers(state)
    for step in range(length):
        token = sample_next(last, temperature, top_k, top_p, generator)      # (N,)
        steps.append(token)
        if stop and (step + 1) % STOP_CHECK_EVERY == 0 and _all_stopped(
                tokenizer, steps, stop, done):
            break
        last, layers = stepper(token, layers)                                # (N, V)
        last = last.index_fill(-1, banned, float("-inf"))
    model.train(was_training)
    generated = torch.stack(steps, dim=1).tolist() if steps else [[] for _ in range(num_samples)]
    texts = []
    for row in generated:
        text = tokenizer.decode(ids[hidden:] + row)
        if stop:
            text = _cut(text, stop, len(tokenizer.decode(ids[hidden:])))
        texts.append(text)
    return Generation(texts, seed)


def _cut(text: str, stop: str, after: int) -> str:
    position = text.find(stop, after)
    return text if position < 0 else text[:position]


def _all_stopped(tokenizer, steps: list, stop: str, done: list) -> bool:
    """Mark samples whose recent tokens contain ``stop``; True when every sample has stopped."""
    window = STOP_CHECK_EVERY + len(stop)                  # tokens are at least one character
    recent = torch.stack(steps[-window:], dim=1).tolist()
    for row, tokens in enumerate(recent):
        done[row] = done[row] or stop in tokenizer.decode(tokens)
    return all(done)
