"""MIDI in and out: files -> note lists in beats, note lists -> valid MIDI, piano rolls, audio.

A piece is a float array of notes ``(N, 4)``: start beat, end beat, pitch, velocity (a beat is a
quarter note, so tempo changes inside a file do not bend the grid). ``quantize`` puts it on a grid
of ``steps_per_beat`` steps as integer rows start, duration, pitch, velocity. ``write_midi`` cleans
any note list before writing (no duplicate or overlapping notes of one pitch, every duration at
least one step), so whatever a model samples is a valid file. pretty_midi (the music extra) does
the I/O; it and matplotlib are imported only when a function needs them (recur.extras), since the
text corpora import this module too.
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recur.errors import RecurError
from recur.extras import pyplot, require

MIDI_SUFFIXES = (".mid", ".midi")
SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
)


class SkipFile(Exception):
    """A file that cannot be used: the message says why; readers warn and go on."""


@dataclass
class Piece:
    name: str
    notes: np.ndarray  # (N, 4) float: start beat, end beat, pitch, velocity
    tempo: float = 120.0  # beats per minute at the start of the piece


def is_midi(path) -> bool:
    return Path(path).suffix.lower() in MIDI_SUFFIXES


def parse_tracks(tracks: str) -> list[int] | None:
    """'all' -> None (merge every instrument); '0,2' -> [0, 2]."""
    if tracks.strip().lower() in ("", "all"):
        return None
    try:
        return [int(part) for part in tracks.split(",")]
    except ValueError:
        raise RecurError(
            f"--tracks {tracks!r}: give 'all' or instrument numbers such as 0,2"
        ) from None


def read_midi(
    path, tracks: str = "all", drums: bool = False, max_seconds: float | None = None
) -> Piece:
    """One MIDI file as a Piece; raises SkipFile when it is corrupt, empty or has no notes."""
    pretty_midi = require("pretty_midi", "music", "reading MIDI")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pretty_midi's notes on odd tempo tracks
            midi = pretty_midi.PrettyMIDI(str(path))
    except Exception as error:  # mido/pretty_midi raise many kinds
        raise SkipFile(f"not a readable MIDI file ({type(error).__name__}: {error})") from None
    chosen = parse_tracks(tracks)
    instruments = [
        inst
        for index, inst in enumerate(midi.instruments)
        if (chosen is None or index in chosen) and (drums or not inst.is_drum)
    ]
    rows = [
        (n.start, n.end, n.pitch, n.velocity)
        for inst in instruments
        for n in inst.notes
        if n.end > n.start and (max_seconds is None or n.start < max_seconds)
    ]
    if not rows:
        where = "" if chosen is None else f" in --tracks {tracks}"
        raise SkipFile(f"no notes{where}" + ("" if drums else " (drum tracks are skipped)"))
    notes = np.array(rows, dtype=np.float64)
    scale = 1.0 / midi.resolution
    for column in (0, 1):  # seconds -> beats, following tempo changes
        notes[:, column] = [midi.time_to_tick(t) * scale for t in notes[:, column]]
    tempi = midi.get_tempo_changes()[1]
    return Piece(Path(path).stem, notes, float(tempi[0]) if len(tempi) else 120.0)


def quantize(notes: np.ndarray, steps_per_beat: int) -> np.ndarray:
    """Float notes in beats -> int rows (start, duration, pitch, velocity) on the grid, sorted by
    start then pitch; durations are at least one step; a repeated (start, pitch) keeps the
    longest."""
    if len(notes) == 0:
        return np.zeros((0, 4), dtype=np.int64)
    start = np.round(notes[:, 0] * steps_per_beat).astype(np.int64)
    end = np.round(notes[:, 1] * steps_per_beat).astype(np.int64)
    grid = np.stack(
        [
            start - start.min(),
            np.maximum(end - start, 1),
            notes[:, 2].astype(np.int64),
            notes[:, 3].astype(np.int64),
        ],
        axis=1,
    )
    return clean_notes(grid)


def clean_notes(notes: np.ndarray) -> np.ndarray:
    """Valid notes: pitches 0..127, durations >= 1, no two notes of one pitch sounding at once
    (an earlier note is cut where the next one of its pitch starts)."""
    notes = np.asarray(notes, dtype=np.int64).reshape(-1, 4)
    notes = notes[
        (notes[:, 2] >= 0) & (notes[:, 2] <= 127) & (notes[:, 1] >= 1) & (notes[:, 0] >= 0)
    ]
    # Sort by pitch, start, longest first; keep the first note of each (pitch, start).
    notes = notes[np.lexsort((-notes[:, 1], notes[:, 0], notes[:, 2]))]
    keep = np.ones(len(notes), dtype=bool)
    keep[1:] = (notes[1:, 2] != notes[:-1, 2]) | (notes[1:, 0] != notes[:-1, 0])
    notes = notes[keep].copy()
    same_pitch_next = np.zeros(len(notes), dtype=bool)
    same_pitch_next[:-1] = notes[1:, 2] == notes[:-1, 2]
    gap = np.zeros(len(notes), dtype=np.int64)
    gap[:-1] = notes[1:, 0] - notes[:-1, 0]
    notes[:, 1] = np.where(same_pitch_next, np.minimum(notes[:, 1], gap), notes[:, 1])
    return notes[np.lexsort((notes[:, 2], notes[:, 0]))]


def write_midi(
    notes: np.ndarray, path, steps_per_beat: int, tempo: float = 120.0, program: int = 0
) -> Path:
    """Grid notes -> a MIDI file with one tempo and one instrument; returns the path."""
    pretty_midi = require("pretty_midi", "music", "writing MIDI")
    notes = clean_notes(notes)
    seconds = 60.0 / (tempo * steps_per_beat)
    midi = pretty_midi.PrettyMIDI(initial_tempo=float(tempo))
    instrument = pretty_midi.Instrument(program=program, name="recur")
    for start, duration, pitch, velocity in notes.tolist():
        instrument.notes.append(
            pretty_midi.Note(
                velocity=int(min(max(velocity, 1), 127)),
                pitch=int(pitch),
                start=start * seconds,
                end=(start + duration) * seconds,
            )
        )
    midi.instruments.append(instrument)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.write(str(path))
    return path


def piano_roll(path_mid, path_png) -> Path:
    """Draw a MIDI file's notes as a piano roll (time in seconds against pitch)."""
    pretty_midi = require("pretty_midi", "music", "drawing a piano roll")
    plt = pyplot()
    midi = pretty_midi.PrettyMIDI(str(path_mid))
    notes = [n for inst in midi.instruments for n in inst.notes]
    figure, axis = plt.subplots(figsize=(12, 4), dpi=100)
    for pitch in sorted({n.pitch for n in notes}):
        bars = [(n.start, n.end - n.start) for n in notes if n.pitch == pitch]
        axis.broken_barh(bars, (pitch - 0.4, 0.8), color="tab:blue")
    axis.set_xlabel("seconds")
    axis.set_ylabel("MIDI pitch")
    axis.set_title(Path(path_mid).name)
    axis.set_xlim(0, max(midi.get_end_time(), 1.0))
    if notes:
        axis.set_ylim(min(n.pitch for n in notes) - 2, max(n.pitch for n in notes) + 2)
    figure.tight_layout()
    figure.savefig(path_png)
    plt.close(figure)
    return Path(path_png)


def render_wav(path_mid, path_wav) -> str | None:
    """Render with fluidsynth and a General MIDI soundfont; returns why not when it cannot."""
    fluidsynth = shutil.which("fluidsynth")
    soundfont = next((f for f in SOUNDFONTS if Path(f).is_file()), None)
    if not fluidsynth or not soundfont:
        return (
            "--wav needs fluidsynth and a General MIDI soundfont: "
            "sudo apt-get install fluidsynth fluid-soundfont-gm"
        )
    result = subprocess.run(
        [fluidsynth, "-ni", "-F", str(path_wav), "-r", "44100", soundfont, str(path_mid)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        return f"fluidsynth failed: {result.stderr.strip().splitlines()[-1:]}"
    return None
