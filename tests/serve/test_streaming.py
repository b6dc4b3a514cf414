"""generate/streaming.py: a stream yields the text ``generate`` gives for its seed, and streams
that join and leave a batch between steps each keep their own options and text."""

import pytest
import torch

from recur.config.options import SampleConfig
from recur.generate.loop import generate
from recur.generate.streaming import Batcher, TextStream, stream_text
from recur.runs.checkpoint import load


@pytest.fixture(scope="module")
def bundle(runs):
    return load(runs["lm"])


@pytest.mark.parametrize(
    "options",
    [
        dict(seed=3, length=60),
        dict(seed=4, length=60, top_p=0.9, prime="the cat"),
        dict(seed=5, length=60, top_k=3, stop=" t"),
        dict(seed=1, length=30, temperature=0),
    ],
)
def test_a_stream_yields_the_sample_generate_gives(bundle, options):
    want = generate(bundle.model, bundle.tokenizer, SampleConfig(**options)).texts[0]
    pieces = list(stream_text(bundle.model, bundle.tokenizer, SampleConfig(**options)))
    assert "".join(pieces) == want and len(pieces) > 5 and all(pieces)


def test_streams_joining_and_leaving_a_batch_keep_their_own_text(bundle):
    options = [
        dict(seed=1, length=40),
        dict(seed=2, length=15, temperature=0.5, prime="the"),
        dict(seed=3, length=30, top_k=4),
    ]
    alone = [generate(bundle.model, bundle.tokenizer, SampleConfig(**o)).texts[0] for o in options]
    batcher = Batcher(bundle.model)
    streams = [TextStream(bundle.tokenizer, SampleConfig(**o)) for o in options]
    texts = {id(s): batcher.add(s) for s in streams[:1]}
    for step in range(60):
        if step == 5:  # the others join while the first is half way
            texts.update({id(s): batcher.add(s) for s in streams[1:]})
        for stream, piece in batcher.step():
            texts[id(stream)] += piece
    assert [texts[id(s)] for s in streams] == alone
    assert not batcher.streams and [s.finish_reason for s in streams] == ["length"] * 3


def test_a_removed_stream_leaves_the_others_untouched(bundle):
    batcher = Batcher(bundle.model)
    keep, drop = (TextStream(bundle.tokenizer, SampleConfig(seed=s, length=20)) for s in (7, 8))
    text = batcher.add(keep)
    batcher.add(drop)
    for step in range(25):
        if step == 3:
            batcher.remove([drop])
        text += "".join(p for s, p in batcher.step() if s is keep)
    assert text == generate(bundle.model, bundle.tokenizer, seed=7, length=20).texts[0]
    assert drop.finish_reason is None and len(drop.tokens) == 3


def test_half_a_character_is_held_back_until_it_is_whole():
    class Bytes:  # decodes ids as UTF-8 bytes, as a byte-level BPE does
        pad_id, unk_id, bos_id, eos_id, unit = 256, 257, 258, 259, "bytes"

        def unknown(self, text):
            return []

        def encode(self, text):
            return list(text.encode())

        def decode(self, ids):
            return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")

    stream = TextStream(Bytes(), SampleConfig(prime="a", length=10))
    pieces = [stream.take(i) for i in "é!".encode()]
    assert pieces == ["", "é", "!"] and torch.tensor(0) == 0
