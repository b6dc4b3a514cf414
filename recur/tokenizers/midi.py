"""The MIDI event vocabulary: grid notes <-> event tokens <-> ids, saved as ``tokenizer.json``.

A piece is read left to right on a grid of ``steps_per_beat`` steps per quarter note:

    wait:K   move the clock K steps forward (1..max_wait; longer rests are several waits)
    dur:D    notes from now on last D steps (1..max_duration; longer notes are clipped)
    vel:B    notes from now on have velocity bin B (0..7; only with --velocity)
    note:P   a note of MIDI pitch P starts now, with the current duration (and velocity)

Notes without a wait between them start together, so chords are notes in a row. ``dur`` and ``vel``
are only written when they change, so a chord of equal notes costs one token a note. Each piece is
``<bos> events <eos>`` in the training stream. Any sequence of ids decodes to valid notes: the
clock, duration and velocity always have values, and special tokens reset them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from recur.tokenizers.base import SPECIALS, SpecialIds

VELOCITY_BINS = 8
DEFAULT_VELOCITY = 80
MAX_GAP_BEATS = 8  # longer rests inside a piece are shortened


class MidiTokenizer(SpecialIds):
    """Fixed event vocabulary set by the grid; ``fit`` records training unigram counts."""

    kind = "midi"

    def __init__(
        self,
        steps_per_beat: int = 4,
        velocity: bool = False,
        tempo: float = 120.0,
        counts: list | None = None,
        **_,
    ):
        self.steps_per_beat, self.velocity, self.tempo = int(steps_per_beat), bool(velocity), tempo
        self.max_wait, self.max_duration = 4 * self.steps_per_beat, 8 * self.steps_per_beat
        self.symbols = (
            list(SPECIALS)
            + [f"wait:{k}" for k in range(1, self.max_wait + 1)]
            + [f"dur:{d}" for d in range(1, self.max_duration + 1)]
            + [f"note:{p}" for p in range(128)]
            + ([f"vel:{b}" for b in range(VELOCITY_BINS)] if self.velocity else [])
        )
        self.index = {symbol: i for i, symbol in enumerate(self.symbols)}
        self.counts = list(counts) if counts is not None else [0] * len(self.symbols)
        # Id of the first token of each kind: wait:1, dur:1, note:0, vel:0.
        self._first = {
            "wait": self.index["wait:1"],
            "dur": self.index["dur:1"],
            "note": self.index["note:0"],
            "vel": self.index.get("vel:0"),
        }

    @property
    def vocab_size(self) -> int:
        return len(self.symbols)

    # -- notes <-> ids -------------------------------------------------------------------------
    def encode_notes(self, notes: np.ndarray) -> np.ndarray:
        """Grid notes (start, duration, pitch, velocity) sorted by start -> ids of one piece,
        wrapped in <bos> ... <eos>."""
        ids, clock = [self.bos_id], 0
        duration, velocity = None, None
        max_gap = MAX_GAP_BEATS * self.steps_per_beat
        for start, length, pitch, vel in np.asarray(notes, dtype=np.int64).tolist():
            gap = min(start - clock, max_gap)
            while gap > 0:
                step = min(gap, self.max_wait)
                ids.append(self._first["wait"] + step - 1)
                gap -= step
            clock = start
            if self.velocity:
                band = min(max(vel, 0) * VELOCITY_BINS // 128, VELOCITY_BINS - 1)
                if band != velocity:
                    ids.append(self._first["vel"] + band)
                    velocity = band
            length = min(max(length, 1), self.max_duration)
            if length != duration:
                ids.append(self._first["dur"] + length - 1)
                duration = length
            ids.append(self._first["note"] + pitch)
        ids.append(self.eos_id)
        return np.array(ids, dtype=np.int32)

    def decode_notes(self, ids: Iterable[int]) -> np.ndarray:
        """Ids -> grid notes (start, duration, pitch, velocity); never fails on any sequence."""
        notes, clock, duration, velocity = [], 0, self.steps_per_beat, DEFAULT_VELOCITY
        for i in ids:
            symbol = self.symbols[i] if 0 <= i < len(self.symbols) else "<unk>"
            kind, _, value = symbol.partition(":")
            if kind == "wait":
                clock += int(value)
            elif kind == "dur":
                duration = int(value)
            elif kind == "vel":
                velocity = int(value) * 128 // VELOCITY_BINS + 128 // VELOCITY_BINS // 2
            elif kind == "note":
                notes.append((clock, duration, int(value), velocity))
            elif symbol in ("<bos>", "<eos>"):
                duration, velocity = self.steps_per_beat, DEFAULT_VELOCITY
        return np.array(notes, dtype=np.int64).reshape(-1, 4)

    def seconds_per_step(self, tempo: float | None = None) -> float:
        return 60.0 / ((tempo or self.tempo) * self.steps_per_beat)

    # -- the text-tokenizer interface (events as space-separated words) ------------------------
    def fit(self, id_arrays: Iterable[np.ndarray]) -> MidiTokenizer:
        counts = np.zeros(self.vocab_size, dtype=np.int64)
        for ids in id_arrays:
            counts += np.bincount(ids, minlength=self.vocab_size)
        self.counts = counts.tolist()
        return self

    def encode(self, text: str) -> list[int]:
        return [self.index.get(word, self.unk_id) for word in text.split()]

    def encode_array(self, text: str) -> np.ndarray:
        return np.array(self.encode(text), dtype=np.int32)

    def unknown(self, text: str) -> list[str]:
        return list(dict.fromkeys(w for w in text.split() if w not in self.index))

    def decode(self, ids: Iterable[int]) -> str:
        skip = (self.pad_id, self.bos_id, self.eos_id)
        return " ".join(self.symbols[i] for i in ids if i not in skip)

    def to_dict(self) -> dict:
        return {
            "type": self.kind,
            "steps_per_beat": self.steps_per_beat,
            "velocity": self.velocity,
            "tempo": self.tempo,
            "counts": self.counts,
            "symbols": self.symbols[len(SPECIALS) :],
        }

    @classmethod
    def from_dict(cls, values: dict) -> MidiTokenizer:
        return cls(**{k: v for k, v in values.items() if k not in ("type", "symbols")})

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict()), encoding="utf-8")
