"""The generation loop: prime, step, draw (``sampling.py``), stop, decode.

Generation feeds the prime once (one long call, where oneDNN is fast), then carries the hidden
state one token at a time through ``Stepper`` (never re-feeds the prefix, never takes oneDNN's slow
one-step path). All samples are generated together as one batch. ``generate`` takes the user's
options as a ``SampleConfig``; what feeds it first is in ``starts.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import torch

from recur.config.options import SampleConfig
from recur.errors import RecurError
from recur.generate.sampling import NgramGuard, TokenSampler
from recur.generate.starts import banned_ids, mark_lines, start_rows
from recur.generate.step_modules import guide
from recur.generate.stepper import Stepper
from recur.runs.devices import exact_fp32
from recur.tokenizers import count_words

STOP_CHECK_EVERY = 16
FEW_STREAMS = 4


def sampling_threads(streams: int, cores: int) -> int:
    """CPU threads for stepping ``streams`` samples at once: one when they are few, since a
    few-stream step is a handful of small products that a second thread only slows; from 16
    streams on, all cores are faster (see docs/experiments.md)."""
    return 1 if streams <= FEW_STREAMS else cores


@dataclass
class Generation:
    texts: list
    seed: int
    finished: list = field(default_factory=list)  # per sample: ended by <eos>
    conditions: list = field(default_factory=list)  # per sample: the condition values used
    novelty: dict | None = None  # see documents.novelty_report


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
    sample: SampleConfig | None = None,
    *,
    device="cpu",
    end_at_eos: bool = False,
    starts: list | None = None,
    refresh: int | None = None,
    guidance: Guidance | None = None,
    **options,
) -> Generation:
    """``sample.num_samples`` continuations of ``sample.prime``, each ``sample.length`` tokens
    (or up to ``sample.stop``); ``options`` are SampleConfig fields given as keywords, over
    ``sample``. The sampling fields used: prime, length, num_samples, temperature, top_k, top_p,
    seed, stop, no_repeat_ngram, max_words, precision (the one-step path's, see stepper.py); the
    document options (condition, min/max words bounds, unique, beam, guidance) are the callers'.

    Special tokens are never sampled; ``<eos>`` only when ``end_at_eos`` (document models), and
    a sample ends there. ``starts`` gives each sample's hidden start ids (a document's ``<bos>``
    and condition tokens); with ``guidance`` it holds ``guidance.groups * num_samples`` rows.
    Samples past ``max_words`` words are abandoned (not finished). ``refresh`` (a line-end id)
    feeds a row's condition tokens again after each line end, as a run trained with
    ``--condition-every-line`` saw them."""
    sample = dataclasses.replace(sample or SampleConfig(), **options)
    num_samples, length = sample.num_samples, sample.length
    stop, max_words = sample.stop, sample.max_words
    if length < 0 or num_samples < 1 or sample.no_repeat_ngram < 0:
        raise RecurError("--length must be >= 0, -n >= 1 and --no-repeat-ngram >= 0")
    seed = int(torch.randint(0, 2**31 - 1, ()).item()) if sample.seed is None else sample.seed
    generator = torch.Generator(device=device).manual_seed(seed)
    guidance = guidance or Guidance()
    was_training = model.training
    model.eval()
    count = guidance.groups * num_samples
    rows, hidden, marks = _starts(tokenizer, sample.prime, count, starts, refresh, device)
    with exact_fp32(device):  # a GPU's prime as the CPU's: no TF32 in cuDNN
        logits, state = model(torch.tensor(rows, device=device), None)  # whole prime at once
    last = logits[:, -1]  # (G*N, V)
    n = sample.no_repeat_ngram
    guard = NgramGuard(n, [r[hidden:] for r in rows[:num_samples]]) if n else None
    steps: list[torch.Tensor] = []
    done, dropped = [False] * num_samples, [False] * num_samples
    ended = torch.zeros(num_samples, dtype=torch.bool, device=device)
    stepper = Stepper(model, sample.precision)
    layers = stepper.to_layers(state)
    restriction = (sample.temperature, sample.top_k, sample.top_p)
    banned = banned_ids(tokenizer, end_at_eos, device)
    sampler = TokenSampler((num_samples, last.shape[-1]), *restriction, generator, banned)
    eos = tokenizer.eos_id if end_at_eos else -1
    finished = partial(_finished_early, tokenizer, steps, stop, done, ended, max_words, dropped)
    loop = _Loop(stepper, sampler, guidance, guard, marks, refresh, eos, ended, finished)
    if guard is None:
        loop.in_blocks(steps, last, layers, length)
    else:
        loop.step_by_step(steps, last, layers, length)
    if max_words is not None and steps:  # the steps since the last periodic check
        _drop_long(tokenizer, steps, max_words, ended, dropped)
    model.train(was_training)
    return _decode(tokenizer, rows[:num_samples], hidden, steps, seed, stop, end_at_eos, dropped)


def _starts(tokenizer, prime: str, count: int, starts: list | None, refresh: int | None, device):
    """The (count, P) rows fed first, how many of their ids are hidden, and the (count, C)
    condition tokens fed again after each line end (None without ``refresh``)."""
    rows, hidden = start_rows(tokenizer, prime, count, starts)
    if refresh is None or not starts or len(starts[0]) <= 1:
        return rows, hidden, None
    marks = torch.tensor([r[1:] for r in starts], device=device)
    return [mark_lines(row, hidden, refresh) for row in rows], hidden, marks


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
            if self.marks is not None and self.refresh is not None:
                last, layers = self.stepper.refresh(fed == self.refresh, self.marks, last, layers)


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
