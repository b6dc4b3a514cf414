"""Property fuzzing: random and mutated inputs to the readers, CSV/JSONL documents, every
tokenizer, the MIDI reader and the run-directory loader give a result or a RecurError (the MIDI
reader: its documented SkipFile), never another exception. ``make reliability`` runs many more
examples (RECUR_RELIABILITY=long)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recur.config.options import DataConfig
from recur.data.documents import read_documents, read_table
from recur.data.readers import read_text
from recur.errors import RecurError
from recur.runs import checkpoint
from recur.tokenizers import BPETokenizer, CharTokenizer, MidiTokenizer, WordTokenizer
from tests.conftest import tiny_text
from tests.reliability.conftest import FIXTURE_RUNS, LONG
from tests.reliability.test_bad_inputs import MARKER

EXAMPLES = 1500 if LONG else 60
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not LONG,  # make test: the same examples every time; make reliability: new ones
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TEXTS = st.text(max_size=300)
BYTES = st.binary(max_size=400)


def counted(tally, name: str) -> None:
    tally["fuzz examples"] = tally.get("fuzz examples", 0) + 1
    tally[f"fuzz: {name}"] = tally.get(f"fuzz: {name}", 0) + 1


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def mutate(content: bytes, edits: list) -> bytes:
    """Flip, cut or insert bytes at the given (position, byte, kind) edits."""
    data = bytearray(content)
    for position, value, kind in edits:
        where = position % (len(data) + 1)
        if kind == 0 and data:
            data[min(where, len(data) - 1)] = value
        elif kind == 1:
            del data[where:]
        else:
            data.insert(where, value)
    return bytes(data)


EDITS = st.lists(
    st.tuples(st.integers(0, 1 << 20), st.integers(0, 255), st.integers(0, 2)),
    min_size=1,
    max_size=4,
)


@FUZZ
@given(content=BYTES, encoding=st.sampled_from(["utf-8", "latin-1", "utf-16", "ascii"]))
def test_read_text(folder, tally, content, encoding):
    path = folder / "t.txt"
    path.write_bytes(content)
    try:
        assert isinstance(read_text(path, encoding), str)
    except RecurError:
        pass
    counted(tally, "read_text")


@FUZZ
@given(
    text=TEXTS, suffix=st.sampled_from([".csv", ".jsonl"]), column=st.sampled_from(["text", "a"])
)
def test_documents(folder, tally, text, suffix, column):
    path = folder / f"d{suffix}"
    path.write_text(text, encoding="utf-8")
    try:
        read_table(path, "utf-8")
        docs = read_documents(DataConfig(paths=[str(path)], text_column=column), "rows")
        assert all(isinstance(t, str) and t for t in docs.texts)
    except RecurError:
        pass
    counted(tally, "CSV/JSONL documents")


@FUZZ
@given(text=TEXTS, extra=TEXTS)
def test_char_round_trip(tally, text, extra):
    tokenizer = CharTokenizer().fit([text + extra])
    assert tokenizer.decode(tokenizer.encode(text)) == text
    counted(tally, "char tokenizer")


@FUZZ
@given(text=TEXTS)
def test_word_round_trip(tally, text):
    tokenizer = WordTokenizer().fit([text])
    ids = tokenizer.encode(text)
    assert tokenizer.encode(tokenizer.decode(ids)) == ids  # spacing may change, never the words
    assert all(0 <= i < tokenizer.vocab_size for i in ids)
    counted(tally, "word tokenizer")


@pytest.fixture(scope="module")
def bpe():
    return BPETokenizer(target_size=300).fit([tiny_text(40)])


@FUZZ
@given(text=TEXTS)
def test_bpe_round_trip(bpe, tally, text):
    assert bpe.decode(bpe.encode(text)) == text  # byte level: every text, seen or not
    counted(tally, "BPE tokenizer")


# (gap from the previous start, duration, pitch): the tokenizer shortens silences past 8 beats
NOTES = st.lists(
    st.tuples(st.integers(0, 32), st.integers(1, 32), st.integers(0, 127)), max_size=40
)


@FUZZ
@given(notes=NOTES, ids=st.lists(st.integers(-5, 400), max_size=80))
def test_midi_tokenizer_round_trip(tally, notes, ids):
    tokenizer = MidiTokenizer()
    starts = np.cumsum([gap for gap, _, _ in notes]).tolist()
    rows = sorted((start, d, p, 80) for start, (_, d, p) in zip(starts, notes))
    grid = np.array(rows, dtype=np.int64).reshape(-1, 4)
    encoded = tokenizer.encode_notes(grid)
    decoded = tokenizer.decode_notes(encoded)
    assert sorted(map(tuple, decoded[:, :3].tolist())) == sorted(map(tuple, grid[:, :3].tolist()))
    tokenizer.decode_notes(ids)  # any sequence decodes
    text = tokenizer.decode([i for i in ids if 0 <= i < tokenizer.vocab_size])
    assert tokenizer.decode(tokenizer.encode(text)) == text
    counted(tally, "MIDI tokenizer")


def a_midi_file() -> bytes:
    pretty_midi = pytest.importorskip("pretty_midi")
    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    piano.notes = [pretty_midi.Note(80, 60 + i % 12, i * 0.25, i * 0.25 + 0.5) for i in range(16)]
    midi.instruments.append(piano)
    with tempfile.NamedTemporaryFile(suffix=".mid") as handle:
        midi.write(handle.name)
        return Path(handle.name).read_bytes()


@pytest.fixture(scope="module")
def midi_bytes():
    return a_midi_file()


@FUZZ
@given(edits=EDITS, random=BYTES, use_random=st.booleans())
def test_midi_reader(folder, tally, midi_bytes, edits, random, use_random):
    from recur.data.midi_files import SkipFile, read_midi

    path = folder / "m.mid"
    path.write_bytes(random if use_random else mutate(midi_bytes, edits))
    try:
        piece = read_midi(path)
        assert np.isfinite(piece.notes).all()
    except (RecurError, SkipFile):
        pass
    counted(tally, "MIDI reader")


@FUZZ
@given(
    name=st.sampled_from(["lm", "classifier", "music"]),
    target=st.sampled_from(["config.json", "tokenizer.json", "model.safetensors"]),
    edits=EDITS,
)
def test_run_loader(folder, tally, name, target, edits):
    run = folder / "run"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(FIXTURE_RUNS / name, run)
    path = run / target
    path.write_bytes(mutate(path.read_bytes(), edits))
    try:
        checkpoint.load(run)
    except RecurError:
        pass
    assert not (folder / MARKER).exists()
    counted(tally, "run-directory loader")
