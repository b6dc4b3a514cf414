"""Drawing the next token from a model's logits: greedy, temperature, top-k and nucleus (top-p),
and the n-gram guard (``--no-repeat-ngram``).

Draws use the Gumbel-max trick: ``argmax(logits / T + G)``, with ``G`` independent standard Gumbel
noise per logit, is an exact draw from ``softmax(logits / T)`` (and ``argmax(logits + T * G)`` is
the same draw). ``torch.multinomial`` does the same job but validates and normalises its input
on every call, a sizeable share of a one-stream sampling step. ``TokenSampler`` goes further for
the generation loop: it draws the noise for many steps in one call, with the banned tokens'
columns already at ``-inf``, so a plain temperature step is one add and one argmax.
"""

from __future__ import annotations

import torch

# Noise drawn at once is at most this many floats (4 MB): a 16-step block for one character
# stream, one step at a time for 64 streams of a 30,000-word vocabulary.
NOISE_ELEMENTS = 1 << 20
NOISE_STEPS = 16  # generate.STOP_CHECK_EVERY: a block per stop check


def gumbel(shape: tuple, generator: torch.Generator | None, device="cpu") -> torch.Tensor:
    """Standard Gumbel noise ``-log(-log(u))``, ``u`` uniform in [0, 1): never +inf (u < 1), and
    u = 0 gives -inf, a logit that is never picked, so a ``-inf`` logit never turns into NaN."""
    uniform = torch.rand(shape, generator=generator, device=device)
    return uniform.log_().neg_().log_().neg_()


def restrict(
    logits: torch.Tensor, temperature: float, top_k: int = 0, top_p: float = 1.0
) -> torch.Tensor:
    """``logits`` (B, V) with every token outside the top ``top_k`` and outside the nucleus (the
    fewest tokens whose probability at ``temperature`` reaches ``top_p``) set to -inf. Written
    for TorchScript too: ``StepNet.draw`` calls it between its steps."""
    if 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probabilities = (sorted_logits / temperature).softmax(dim=-1)
        # Drop a token when the tokens before it already reach top_p (the first always stays).
        drop = probabilities.cumsum(dim=-1) - probabilities >= top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    return logits


def restricts(temperature: float, top_k: int, top_p: float, vocab_size: int) -> bool:
    """Whether top-k or top-p leaves out any token (never when greedy)."""
    return temperature > 0 and (0 < top_k < vocab_size or top_p < 1.0)


def ban_and_restrict(
    scores: torch.Tensor, banned: torch.Tensor, temperature: float, top_k: int, top_p: float
) -> torch.Tensor:
    """``scores`` (B, V) as ``TokenSampler`` and ``StepNet.draw`` sample them: unchanged when
    nothing is restricted (the block noise bans), else banned first, so that top-k and top-p
    count only tokens that may be drawn. Written for TorchScript too."""
    if not restricts(temperature, top_k, top_p, scores.shape[-1]):
        return scores
    scores = scores.float().index_fill(-1, banned, float("-inf"))
    return restrict(scores, temperature, top_k, top_p)


def sample_next(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Next ids (B,) from logits (B, V): greedy at temperature 0, else top-k / nucleus sampling."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    logits = restrict(logits.float(), temperature, top_k, top_p)
    noise = gumbel(logits.shape, generator, logits.device).mul_(temperature)
    return (logits + noise).argmax(dim=-1)


class TokenSampler:
    """``sampler(scores (B, V)) -> ids (B,)``, as ``sample_next`` with ``banned`` ids never drawn.

    The temperature-scaled noise comes in blocks of up to ``NOISE_STEPS`` steps with the banned
    columns already at -inf (zeros at temperature 0: greedy), so a plain step is one add and one
    argmax; ``noise(count)`` hands whole blocks to ``Stepper.draw``, which takes the same noise
    in the same order. With top-k or top-p the scores are first banned and restricted (see
    ``ban_and_restrict``)."""

    def __init__(
        self,
        shape: tuple,
        temperature: float,
        top_k: int,
        top_p: float,
        generator: torch.Generator,
        banned: torch.Tensor,
    ):
        self.shape, self.temperature, self.top_k, self.top_p = shape, temperature, top_k, top_p
        self.generator, self.banned = generator, banned
        self.block_steps = max(1, min(NOISE_STEPS, NOISE_ELEMENTS // max(1, shape[0] * shape[1])))
        self.block, self.position = torch.empty(0), 0

    def __call__(self, scores: torch.Tensor) -> torch.Tensor:
        scores = ban_and_restrict(scores, self.banned, self.temperature, self.top_k, self.top_p)
        return (scores + self._next()).argmax(dim=-1)

    def noise(self, count: int) -> torch.Tensor:
        """The noise (count, B, V) for the next ``count`` steps."""
        if self.position == len(self.block) and count == self.block_steps:
            self.block, self.position = self._draw(), count
            return self.block
        return torch.stack([self._next() for _ in range(count)])

    def next_row(self) -> torch.Tensor:
        """The noise (B, V) of the next step (a stream of the server's batcher has B = 1)."""
        return self._next()

    def _next(self) -> torch.Tensor:
        if self.position == len(self.block):
            self.block, self.position = self._draw(), 0
        self.position += 1
        return self.block[self.position - 1]

    def _draw(self) -> torch.Tensor:
        """Noise for ``block_steps`` steps (S, B, V)."""
        shape, device = (self.block_steps, *self.shape), self.banned.device
        if self.temperature > 0:
            noise = gumbel(shape, self.generator, device).mul_(self.temperature)
        else:
            noise = torch.zeros(shape, device=device)
        return noise.index_fill_(-1, self.banned, float("-inf"))


class NgramGuard:
    """Per sample, bans a token that would repeat an n-gram of tokens the sample already holds."""

    def __init__(self, n: int, histories: list):
        self.n, self.histories = n, [list(h) for h in histories]
        self.seen: list[dict[tuple, set]] = [dict() for _ in histories]
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
