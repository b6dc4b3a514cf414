"""Text as it is made: ``TextStream`` (one sample's options, random state and text so far),
``Batcher`` (many streams of one model stepped together; streams join and leave between steps)
and ``stream_text`` (one sample as a generator of text pieces, for the terminal).

Each stream draws its noise from its own ``TokenSampler`` (sampling.py), block by block as the
generation loop does, so one stream given a seed yields exactly the text ``generate`` returns for
that seed. In a batch every row keeps its own temperature, top-k, top-p, stop string and length;
the rows' hidden states are stacked so that one ``Stepper`` call advances them all.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from recur.config.options import SampleConfig
from recur.errors import RecurError
from recur.generate.sampling import TokenSampler, ban_and_restrict, restricts
from recur.generate.starts import banned_ids, start_rows
from recur.generate.stepper import Stepper

DECODE_CONTEXT = 4  # tokens decoded before a new one, so that joining rules see its neighbours
HELD_BACK = "\ufffd"  # a byte-level tokenizer's half of a character: wait for the rest


class TextStream:
    """One sample being made. ``start`` gives hidden start ids (a document's ``<bos>`` and
    condition tokens); ``end_at_eos`` lets it end at ``<eos>`` (document models)."""

    def __init__(
        self,
        tokenizer,
        sample: SampleConfig,
        start: list[int] | None = None,
        end_at_eos: bool = False,
        device="cpu",
        stops: list[str] | None = None,
    ):
        if sample.length < 0 or not 0 < sample.top_p <= 1 or sample.top_k < 0:
            raise RecurError("length must be >= 0, top_p in (0, 1] and top_k >= 0")
        if sample.temperature < 0:
            raise RecurError("temperature must be >= 0")
        rows, hidden = start_rows(tokenizer, sample.prime, 1, None if start is None else [start])
        self.tokenizer, self.sample, self.ids, self.hidden = tokenizer, sample, rows[0], hidden
        self.seed = (
            int(torch.randint(0, 2**31 - 1, ()).item()) if sample.seed is None else sample.seed
        )
        self.generator = torch.Generator(device=device).manual_seed(self.seed)
        self.eos = tokenizer.eos_id if end_at_eos else -1
        self.banned = banned_ids(tokenizer, end_at_eos, device)
        self.sampler: TokenSampler | None = None
        self.tokens: list[int] = []
        self.shown = list(self.ids[hidden:])  # the prime's ids and the drawn ones
        self.prime_text = self.decoded = tokenizer.decode(self.shown)
        self.restricts: bool | None = None  # whether top-k / top-p cut anything (set at step 1)
        self.text = ""  # what has been handed out, after the prime
        self.finish_reason: str | None = None  # "length", "stop", "eos" (or the caller's)
        self.stops = [s for s in (stops if stops is not None else [sample.stop]) if s]

    def noise(self, vocab_size: int) -> torch.Tensor:
        """This stream's next (1, V) noise row, in the order ``generate`` uses it."""
        if self.sampler is None:
            self.sampler = TokenSampler(
                (1, vocab_size),
                self.sample.temperature,
                self.sample.top_k,
                self.sample.top_p,
                self.generator,
                self.banned,
            )
        return self.sampler.next_row()  # (1, V)

    def restricted(self, scores: torch.Tensor) -> torch.Tensor:
        """``scores`` (V,) banned and cut to top-k / top-p, as this stream asks."""
        s = self.sample
        return ban_and_restrict(scores[None], self.banned, s.temperature, s.top_k, s.top_p)[0]

    def take(self, token: int) -> str:
        """Record a drawn token; the text it adds (held back while it may begin the stop string
        or ends in half a character). Sets ``finish_reason`` when the sample is complete."""
        if token == self.eos:
            self.finish_reason = "eos"
        else:
            self.tokens.append(token)
            self.shown.append(token)
            self.decoded = self._extended()
        full = self.decoded[len(self.prime_text) :]
        found = [p for p in (full.find(stop, len(self.text)) for stop in self.stops) if p >= 0]
        if found:
            full, self.finish_reason = full[: min(found)], "stop"
        elif len(self.tokens) >= self.sample.length and self.finish_reason is None:
            self.finish_reason = "length"
        if self.finish_reason is None:
            keep = len(full) - max((len(stop) - 1 for stop in self.stops), default=0)
            while keep > 0 and full[keep - 1] == HELD_BACK:
                keep -= 1
            full = full[: max(keep, len(self.text))]
        piece, self.text = full[len(self.text) :], full
        return piece

    def _extended(self) -> str:
        """The text of ``shown`` from the last token's text in context (a few tokens before
        it), so that a step does not decode the whole sample; the whole is decoded again
        where the context changes what came before (half a character made whole)."""
        window = self.shown[-DECODE_CONTEXT - 1 :]
        before, after = self.tokenizer.decode(window[:-1]), self.tokenizer.decode(window)
        if after.startswith(before) and not before.endswith(HELD_BACK):
            return self.decoded + after[len(before) :]
        return self.tokenizer.decode(self.shown)


class Batcher:
    """Many ``TextStream``s of one model stepped together: ``add`` feeds a stream's start,
    ``step`` draws one token for every stream and returns [(stream, piece)], dropping the
    streams that finished; ``remove`` drops a stream between steps."""

    def __init__(self, model, precision: str = "fp32", device="cpu"):
        self.model, self.device = model.eval(), device
        self.stepper = Stepper(model, precision)
        self.streams: list[TextStream] = []
        self.layers: list[torch.Tensor] = []
        self.last = torch.empty(0)

    def add(self, stream: TextStream) -> str:
        """Feed the stream's start (one call over the whole prime); returns the prime text."""
        self.add_many([stream])
        return stream.prime_text

    @torch.no_grad()
    def add_many(self, streams: list[TextStream]) -> None:
        """Feed the starts of ``streams``, one model call per prime length (a call costs about
        as much for many rows as for one)."""
        by_length: dict[int, list[TextStream]] = {}
        for stream in streams:
            if stream.sample.length == 0:
                stream.finish_reason = "length"
            else:
                by_length.setdefault(len(stream.ids), []).append(stream)
        for group in by_length.values():
            rows = torch.tensor([s.ids for s in group], device=self.device)
            logits, state = self.model(rows, None)  # (G, P, V)
            layers = self.stepper.to_layers(state)
            if not self.streams:
                self.layers, self.last = layers, logits[:, -1]
            else:
                self.layers = [torch.cat([a, b]) for a, b in zip(self.layers, layers)]
                self.last = torch.cat([self.last, logits[:, -1]])
            self.streams += group

    def remove(self, gone: list[TextStream]) -> None:
        keep = [i for i, s in enumerate(self.streams) if all(s is not g for g in gone)]
        if len(keep) == len(self.streams):
            return
        self.streams = [self.streams[i] for i in keep]
        if not keep:
            self.layers, self.last = [], torch.empty(0)
            return
        index = torch.tensor(keep, device=self.last.device)
        self.layers = [t.index_select(0, index) for t in self.layers]
        self.last = self.last.index_select(0, index)

    @torch.no_grad()
    def step(self) -> list[tuple[TextStream, str]]:
        """One token for every stream: [(stream, the text it adds)]; finished streams leave."""
        if not self.streams:
            return []
        vocab = self.last.shape[-1]
        scores = self.last.float()
        for s in self.streams:
            if s.restricts is None:
                s.restricts = restricts(s.sample.temperature, s.sample.top_k, s.sample.top_p, vocab)
        restricted = [i for i, s in enumerate(self.streams) if s.restricts]
        if restricted:
            scores = scores.clone()
            for i in restricted:
                scores[i] = self.streams[i].restricted(scores[i])
        noise = torch.cat([s.noise(vocab) for s in self.streams])  # (B, V)
        tokens = (scores + noise).argmax(-1)  # (B,)
        out = [(s, s.take(t)) for s, t in zip(self.streams, tokens.tolist())]
        self.remove([s for s in self.streams if s.finish_reason is not None])
        if self.streams:
            live = torch.tensor([s.finish_reason is None for s, _ in out])
            fed = tokens[live.to(tokens.device)] if not bool(live.all()) else tokens
            self.last, self.layers = self.stepper(fed, self.layers)
        return out


def stream_text(model, tokenizer, sample: SampleConfig, device="cpu") -> Iterator[str]:
    """One sample as pieces of text as its tokens are drawn: first the prime, then each token's
    text (the same text ``generate`` gives for ``sample.seed``)."""
    batcher = Batcher(model, sample.precision, device)
    stream = TextStream(tokenizer, sample, device=device)
    prime = batcher.add(stream)
    if prime:
        yield prime
    while batcher.streams:
        for _, piece in batcher.step():
            if piece:
                yield piece
