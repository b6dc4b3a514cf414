"""MIDI pieces -> a language model's event ids: the corpus side of a music run.

``prepare_midi`` reads the pieces (MIDI files or the ``bach`` corpus; unusable files are skipped
with a warning), holds out the last ``val_fraction`` of the pieces (in file order) for validation,
augments the training pieces with ``--transpose`` shifts, and joins every piece as
``<bos> events <eos>`` into one stream (tokenizers/midi.py defines the events). It also measures
a unigram baseline on the validation events.
"""

from __future__ import annotations

import math
import re
import sys

import numpy as np

from recur.data.corpora import get_corpus
from recur.data.midi_files import SkipFile, is_midi, quantize, read_midi
from recur.data.readers import collect_files
from recur.errors import RecurError
from recur.tokenizers.midi import MidiTokenizer

PITCHES = 128


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def is_music(data) -> bool:
    """A MIDI run: --midi, a MIDI corpus, or MIDI files among the inputs."""
    if data.midi:
        return True
    if data.corpus:
        return get_corpus(data.corpus).kind == "midi"
    if not data.paths:
        return False
    return any(is_midi(path) for path in collect_files(data.paths, data.glob))


def parse_transpose(text: str) -> list[int]:
    """'0' -> [0]; '-5..6' -> [-5, ..., 6]; '0,12' -> [0, 12] (semitones)."""
    match = re.fullmatch(r"\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*", str(text))
    try:
        if match:
            low, high = int(match.group(1)), int(match.group(2))
            shifts = list(range(low, high + 1))
        else:
            shifts = [int(part) for part in str(text).split(",")]
    except ValueError:
        shifts = []
    if not shifts or any(abs(s) > 24 for s in shifts):
        raise RecurError(f"--transpose {text!r}: give semitones such as -5..6 (within +-24)")
    return shifts


def transpose(notes: np.ndarray, shift: int) -> np.ndarray:
    """Grid notes moved by ``shift`` semitones; notes that leave 0..127 are dropped."""
    moved = notes.copy()
    moved[:, 2] += shift
    return moved[(moved[:, 2] >= 0) & (moved[:, 2] < PITCHES)]


def read_pieces(data) -> tuple[list, dict]:
    """The run's pieces (files or a MIDI corpus) and counts of files read and skipped."""
    if data.corpus:
        if data.paths:
            raise RecurError("give either files/folders or --corpus, not both")
        corpus = get_corpus(data.corpus)
        if corpus.kind != "midi":
            raise RecurError(f"--corpus {data.corpus} is text, not music; drop --midi")
        pieces = corpus.load()
        assert isinstance(pieces, list)  # a MIDI corpus loads its pieces
        return pieces, {"read": len(pieces), "skipped": 0, "ignored": 0}
    files = collect_files(data.paths, data.glob)
    midi_files = [f for f in files if is_midi(f)]
    read: list = []
    skipped = 0
    for path in midi_files:
        try:
            read.append(read_midi(path, data.tracks, data.drums))
        except SkipFile as why:
            warn(f"{path}: skipped: {why}")
            skipped += 1
    if not read:
        where = ", ".join(str(p) for p in data.paths)
        raise RecurError(
            f"{where}: no usable notes in {len(midi_files)} MIDI file(s) "
            f"({skipped} skipped{'; none found' if not midi_files else ''})"
        )
    return read, {
        "read": len(read),
        "skipped": skipped,
        "ignored": len(files) - len(midi_files),
    }


def unigram_loss(counts, ids: np.ndarray) -> float:
    """Nats per event of ids[1:] under add-one-smoothed unigram frequencies ``counts``."""
    counts = np.asarray(counts, dtype=np.float64) + 1.0
    log_p = np.log(counts / counts.sum())
    return float(-log_p[np.asarray(ids[1:])].mean()) if len(ids) > 1 else math.nan


def split_pieces(grids: list, fraction: float) -> tuple[list, list, str]:
    """The last ``fraction`` of the pieces (at least one) for validation; a single piece gives
    its last notes. Returns train, validation and how they were split."""
    if fraction <= 0:
        return grids, [], "none"
    if len(grids) == 1:
        notes = grids[0]
        cut = int(len(notes) * (1.0 - fraction))
        tail = notes[cut:].copy()
        if len(tail) == 0:
            return grids, [], "none (too few notes)"
        tail[:, 0] -= tail[:, 0].min()
        return [notes[:cut]], [tail], "last notes of the one piece"
    held = min(max(round(len(grids) * fraction), 1), len(grids) - 1)
    return grids[:-held], grids[-held:], f"last {held} pieces"


def training_stream(tokenizer: MidiTokenizer, grids: list, shifts: list[int]) -> np.ndarray:
    """Every training piece at every shift, in a seeded random order, as one id stream."""
    copies = [(grid, shift) for grid in grids for shift in shifts]
    order = np.random.default_rng(0).permutation(len(copies)) if len(shifts) > 1 else None
    copies = copies if order is None else [copies[i] for i in order]
    parts = [tokenizer.encode_notes(transpose(grid, shift)) for grid, shift in copies]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)


def prepare_midi(data, tokenizer: MidiTokenizer | None = None) -> dict:
    """The fields of trainer.Corpus (plus ``summary`` and ``baseline``) for a MIDI run."""
    data.midi = True
    pieces, files = read_pieces(data)
    steps = tokenizer.steps_per_beat if tokenizer else data.quantize
    if steps < 1:
        raise RecurError("--quantize must be at least 1 step per quarter note")
    grids = [quantize(piece.notes, steps) for piece in pieces]
    train_grids, val_grids, split = split_pieces(grids, data.val_fraction)
    if tokenizer is None:
        tempo = float(np.median([piece.tempo for piece in pieces]))
        tokenizer = MidiTokenizer(steps, data.velocity, round(tempo, 2))
    shifts = parse_transpose(data.transpose)
    train_ids = training_stream(tokenizer, train_grids, shifts)
    val_ids = training_stream(tokenizer, val_grids, [0])
    if not any(tokenizer.counts):
        tokenizer.fit([train_ids])
    notes = sum(len(g) for g in grids)
    summary = (
        f"MIDI: {files['read']} pieces read, {files['skipped']} skipped"
        + (f", {files['ignored']} non-MIDI files ignored" if files["ignored"] else "")
        + f"; {notes:,} notes -> {len(train_ids) + len(val_ids):,} events"
        + (
            f" with {len(shifts)} transpositions ({shifts[0]}..{shifts[-1]}) of the training pieces"
            if shifts != [0]
            else ""
        )
        + f" (validation: {split}, {len(val_ids):,} events); grid 1/{steps} beat; "
        f"vocabulary {tokenizer.vocab_size}"
    )
    return {
        "tokenizer": tokenizer,
        "train_ids": train_ids,
        "val_ids": val_ids,
        "val_characters": max(len(val_ids) - 1, 0),
        "summary": summary,
        "baseline": unigram_loss(tokenizer.counts, val_ids) if len(val_ids) > 1 else None,
    }
