"""The generation loop: prime, step, draw (``sampling.py``), stop, decode.

Generation feeds the prime once (one long call, where oneDNN is fast), then carries the hidden
state one token at a time through ``Stepper`` (never re-feeds the prefix, never takes oneDNN's slow
one-step path). All samples are generated together as one batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from recur.errors import RecurError
from recur.generate.sampling import TokenSampler, sample_next  # noqa: F401  (sample_next: part of this API)
from recur.generate.step_modules import guide
from recur.generate.stepper import Stepper
from recur.tokenizers import count_words

STOP_CHECK_EVERY = 16


FEW_STREAMS = 4


def sampling_threads(streams: int, cores: int) -> int:
    """CPU threads for stepping ``streams`` samples at once: one when they are few, since a
    few-stream step is a handful of small products that a second thread only slows (2x512 LSTM,
    one stream, 1 against 2 threads on a 2-core AMD EPYC: fp32 2.5k against 1.8k tokens/s, int8
    4.5k against 3.9k); from 16 streams on, all cores are faster (int8, 64 streams: 26k against
    40k)."""
    return 1 if streams <= FEW_STREAMS else cores


@dataclass
class Generation:
    texts: list
    seed: int
    finished: list = field(default_factory=list)  # per sample: ended by <eos>
    conditions: list = field(default_factory=list)  # per sample: the condition values used
    novelty: dict | None = None  # see bounded.novelty_report


def encode_prime(tokenizer, prime: str) -> list[int]:
    unknown = tokenizer.unknown(prime)
    if unknown:
        shown = ", ".join(repr(ch) for ch in unknown[:10])
        raise RecurError(
            f"the prime contains {tokenizer.unit} the model never saw: {shown}; "
            "remove or replace them"
        )
    return tokenizer.encode(prime)


def start_ids(tokenizer, prime: str) -> tuple[list[int], int]:
    """Ids to feed first and how many of them are shown: a prime, else a hidden newline."""
    if prime:
        return encode_prime(tokenizer, prime), 0
    if "\n" in getattr(tokenizer, "index", {}):
        return [tokenizer.index["\n"]], 1
    return [tokenizer.bos_id], 1


def start_rows(tokenizer, prime: str, num_samples: int, starts: list | None) -> tuple[list, int]:
    """The (N, P) ids fed first and how many of them are hidden: a document's start tokens
    (``<bos>`` and condition tokens) when given, then the prime."""
    if starts is None:
        ids, hidden = start_ids(tokenizer, prime)
        return [ids] * num_samples, hidden
    prime_ids = encode_prime(tokenizer, prime) if prime else []
    return [list(row) + prime_ids for row in starts], len(starts[0])


def banned_ids(tokenizer, end_at_eos: bool, device) -> torch.Tensor:
    """Tokens never sampled: pad, unk, bos, condition tokens, and eos unless documents end."""
    banned = {
        tokenizer.pad_id,
        tokenizer.unk_id,
        tokenizer.bos_id,
        *getattr(tokenizer, "condition_ids", ()),
    }  # MIDI has no conditions
    if not end_at_eos:
        banned.add(tokenizer.eos_id)
    return torch.tensor(sorted(banned), device=device)


@dataclass
class Guidance:
    """Guided sampling (as classifier-free guidance, Sanchez et al. 2023, with the other condition
    values as the negative prompt). The batch holds ``groups`` copies of the N samples: the
    first under the wanted condition, the others under contrasting ones, all fed the same
    tokens. Sampling uses ``log p(x|c) + weight * (log p(x|c) - log mean p(x|c'))``: the second
    term is the model's own log-odds that the text so far plus ``x`` belongs to ``c``."""

    weight: float = 0.0
    groups: int = 1

    def combine(self, logits: torch.Tensor) -> torch.Tensor:
        """(groups * N, V) -> (N, V) scores to sample from."""
        return logits if self.groups == 1 else guide(logits, self.groups, self.weight)


@torch.no_grad()
def generate(
    model,
    tokenizer,
    prime: str = "",
    length: int = 500,
    num_samples: int = 1,
    temperature: float = 0.8,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: int | None = None,
    stop: str | None = None,
    device="cpu",
    end_at_eos: bool = False,
    starts: list | None = None,
    no_repeat_ngram: int = 0,
    max_words: int | None = None,
    refresh: int | None = None,
    guidance: Guidance | None = None,
    precision: str = "fp32",
) -> Generation:
    """``num_samples`` continuations of ``prime``, each ``length`` tokens (or up to ``stop``).

    Special tokens are never sampled; ``<eos>`` only when ``end_at_eos`` (document models), and
    a sample ends there. ``starts`` gives each sample's hidden start ids (a document's ``<bos>``
    and condition tokens); with ``guidance`` it holds ``guidance.groups * num_samples`` rows.
    Samples past ``max_words`` words are abandoned (not finished). ``refresh`` (a line-end id)
    feeds a row's condition tokens again after each line end, as a run trained with
    ``--condition-every-line`` saw them. ``precision`` is the one-step path's (see stepper.py)."""
    if length < 0 or num_samples < 1 or no_repeat_ngram < 0:
        raise RecurError("--length must be >= 0, -n >= 1 and --no-repeat-ngram >= 0")
    seed = int(torch.randint(0, 2**31 - 1, ()).item()) if seed is None else seed
    generator = torch.Generator(device=device).manual_seed(seed)
    guidance = guidance or Guidance()
    was_training = model.training
    model.eval()
    rows, hidden = start_rows(tokenizer, prime, num_samples * guidance.groups, starts)
    if refresh is not None and starts and len(starts[0]) > 1:
        rows = [_mark_lines(row, hidden, refresh) for row in rows]
    logits, state = model(torch.tensor(rows, device=device), None)  # whole prime at once
    banned = banned_ids(tokenizer, end_at_eos, device)
    last = logits[:, -1]  # (G*N, V)
    guard = (
        NgramGuard(no_repeat_ngram, [r[hidden:] for r in rows[:num_samples]])
        if no_repeat_ngram
        else None
    )
    steps, done, dropped = [], [False] * num_samples, [False] * num_samples
    ended = torch.zeros(num_samples, dtype=torch.bool, device=device)
    stepper = Stepper(model, precision)
    layers = stepper.to_layers(state)
    marks = (
        torch.tensor([r[1:] for r in starts], device=device)
        if refresh is not None and starts and len(starts[0]) > 1
        else None
    )
    sampler = TokenSampler(
        (num_samples, last.shape[-1]), temperature, top_k, top_p, generator, banned
    )
    loop = _Loop(
        stepper,
        sampler,
        guidance,
        guard,
        marks,
        refresh,
        tokenizer.eos_id if end_at_eos else -1,
        ended,
        lambda: _finished_early(tokenizer, steps, stop, done, ended, max_words, dropped),
    )
    if guard is None:
        loop.in_blocks(steps, last, layers, length)
    else:
        loop.step_by_step(steps, last, layers, length)
    if max_words is not None and steps:  # the steps since the last periodic check
        _drop_long(tokenizer, steps, max_words, ended, dropped)
    model.train(was_training)
    return _decode(tokenizer, rows[:num_samples], hidden, steps, seed, stop, end_at_eos, dropped)


@dataclass
class _Loop:
    """The generation loop after the prime: draw, record, check for the end every
    ``STOP_CHECK_EVERY`` steps (``finished()``: True ends it), feed the drawn tokens."""

    stepper: Stepper
    sampler: TokenSampler
    guidance: Guidance
    guard: NgramGuard | None
    marks: torch.Tensor | None  # (N, C) condition tokens fed again after each line end
    refresh: int | None  # the line-end id
    eos: int  # -1: rows never end
    ended: torch.Tensor  # (N,) bool, updated in place
    finished: Callable[[], bool]

    def in_blocks(self, steps: list, last, layers, length: int) -> None:
        """Sampling with no n-gram guard (its bans are Python sets): blocks of steps run inside
        the stepper's scripted ``draw``, with no Python per token."""
        while len(steps) < length:
            count = min(STOP_CHECK_EVERY, length - len(steps), self.sampler.block_steps)
            before = len(steps) // STOP_CHECK_EVERY
            tokens, last, layers, _ = self.stepper.draw(
                last,
                layers,
                self.sampler.noise(count),
                self.eos,
                self.ended,
                self.sampler,
                self.refresh,
                self.marks,
                self.guidance,
            )
            steps += tokens.unbind(0)
            if len(steps) // STOP_CHECK_EVERY > before and self.finished():
                return

    def step_by_step(self, steps: list, last, layers, length: int) -> None:
        for step in range(length):
            scores = self.guidance.combine(last)  # (N, V)
            if self.guard:
                scores = self.guard.mask(scores)
            token = self.sampler(scores)  # (N,)
            if self.eos >= 0:
                token = token.masked_fill(self.ended, self.eos)
                self.ended |= token == self.eos
            steps.append(token)
            if self.guard:
                self.guard.update(token)
            if (step + 1) % STOP_CHECK_EVERY == 0 and self.finished():
                return
            groups = self.guidance.groups
            fed = token.repeat(groups) if groups > 1 else token  # (G*N,)
            last, layers = self.stepper(fed, layers)  # (G*N, V)
            if self.marks is not None:
                last, layers = self.stepper.refresh(fed == self.refresh, self.marks, last, layers)


def _mark_lines(row: list, hidden: int, line_end: int) -> list:
    """A prime's line ends are followed by the condition tokens, as in training."""
    marks, marked = row[1:hidden], row[:hidden]
    for token in row[hidden:]:
        marked += [token] + (marks if token == line_end else [])
    return marked


def _decode(tokenizer, rows, hidden, steps, seed, stop, end_at_eos, dropped) -> Generation:
    generated = torch.stack(steps, dim=1).tolist() if steps else [[] for _ in rows]
    texts, finished = [], []
    for start, row, gone in zip(rows, generated, dropped):
        ended = end_at_eos and tokenizer.eos_id in row
        row = row[: row.index(tokenizer.eos_id)] if ended else row
        text = tokenizer.decode(start[hidden:] + row)
        if stop:
            text = _cut(text, stop, len(tokenizer.decode(start[hidden:])))
        texts.append(text)
        finished.append(ended and not gone)
    return Generation(texts, seed, finished)


def _cut(text: str, stop: str, after: int) -> str:
    position = text.find(stop, after)
    return text if position < 0 else text[:position]


def _finished_early(tokenizer, steps, stop, done, ended, max_words, dropped) -> bool:
    """True when every sample has ended (``<eos>``), met ``stop``, or run past ``max_words``."""
    if max_words is not None:
        _drop_long(tokenizer, steps, max_words, ended, dropped)
    if stop:
        return _all_stopped(tokenizer, steps, stop, done)
    return bool(ended.all())


def _drop_long(tokenizer, steps: list, max_words: int, ended, dropped: list) -> None:
    """Abandon (end, and mark dropped) samples whose text before any ``<eos>`` is past
    ``max_words`` words: it can only grow. Samples that ended since the last check count too."""
    for index, row in enumerate(torch.stack(steps, dim=1).tolist()):
        if dropped[index]:
            continue
        row = row[: row.index(tokenizer.eos_id)] if tokenizer.eos_id in row else row
        if count_words(tokenizer.decode(row)) > max_words:
            ended[index] = dropped[index] = True


def _all_stopped(tokenizer, steps: list, stop: str, done: list) -> bool:
    """Mark samples whose recent tokens contain ``stop``; True when every sample has stopped."""
    window = STOP_CHECK_EVERY + len(stop)  # tokens are at least one character
    recent = torch.stack(steps[-window:], dim=1).tolist()
    for row, tokens in enumerate(recent):
        done[row] = done[row] or stop in tokenizer.decode(tokens)
    return all(done)


class NgramGuard:
    """Per sample, bans a token that would repeat an n-gram of tokens the sample already holds."""

    def __init__(self, n: int, histories: list):
        self.n, self.histories = n, [list(h) for h in histories]
        self.seen = [dict() for _ in histories]
        for row, history in enumerate(self.histories):
            for i in range(len(history) - n + 1):
                self._add(row, history[i : i + n])

    def _add(self, row: int, gram: list) -> None:
        self.seen[row].setdefault(tuple(gram[:-1]), set()).add(gram[-1])

    def mask(self, logits: torch.Tensor) -> torch.Tensor:
        logits = logits.clone()
        for row, history in enumerate(self.histories):
            if len(history) < self.n - 1:
                continue
            banned = self.seen[row].get(tuple(history[len(history) - self.n + 1 :]))
            if banned:
                masked = logits[row].index_fill(0, torch.tensor(sorted(banned)), float("-inf"))
                if torch.isfinite(masked).any():  # never ban every token
                    logits[row] = masked
        return logits

    def update(self, tokens: torch.Tensor) -> None:
        for row, token in enumerate(tokens.tolist()):
            history = self.histories[row]
            history.append(token)
            if len(history) >= self.n:
                self._add(row, history[-self.n :])
