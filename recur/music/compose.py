"""Music from a trained run: sampled event text -> MIDI files, piano rolls and audio
(``generate_midi``), and the loss per event on MIDI files beside a unigram baseline
(``evaluate_midi``). Training data comes from data/pieces.py; the model is a language model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recur.config.options import DataConfig, SampleConfig, from_dict
from recur.data.midi_files import (
    SkipFile,
    clean_notes,
    piano_roll,
    quantize,
    read_midi,
    render_wav,
    write_midi,
)
from recur.data.pieces import read_pieces, unigram_loss
from recur.errors import RecurError
from recur.generate.loop import generate
from recur.lm.evaluate import metrics, stream_loss
from recur.music.synth import synthesize, wav_bytes
from recur.tokenizers.midi import MidiTokenizer

EVENTS_PER_SECOND = 25  # first guess at the events a second of music takes (400 gave 19-38 s)
LENGTH_TRIES = 4  # the guess doubles until every piece is long enough
MAX_EVENTS = 20_000


def prime_text(tokenizer: MidiTokenizer, path, seconds: float, data: dict) -> str:
    """The first ``seconds`` of a MIDI file as event text starting with <bos>."""
    try:
        piece = read_midi(path, data.get("tracks", "all"), data.get("drums", False), seconds)
    except SkipFile as why:
        raise RecurError(f"{path}: cannot prime from it: {why}") from None
    ids = tokenizer.encode_notes(quantize(piece.notes, tokenizer.steps_per_beat))[:-1]
    return " ".join(tokenizer.symbols[i] for i in ids)


def output_paths(out: str, count: int) -> list[Path]:
    path = Path(out)
    if path.suffix.lower() not in (".mid", ".midi"):
        path = path.with_suffix(".mid")
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{i}{path.suffix}") for i in range(1, count + 1)]


def generate_midi(bundle, sample: dict, music, device="cpu") -> list[dict]:
    """Sample pieces and write each as MIDI + piano-roll PNG (+ WAV); returns what was written."""
    tokenizer = bundle.tokenizer
    if music.prime_midi:
        if sample.get("prime"):
            raise RecurError("give --prime or --prime-midi, not both")
        sample = {
            **sample,
            "prime": prime_text(
                tokenizer, music.prime_midi, music.prime_seconds, bundle.config.get("data", {})
            ),
        }
    tempo = music.tempo or tokenizer.tempo
    pieces, seed = sample_pieces(bundle, sample, music.seconds, tempo, device)
    out = music.out or str(bundle.path.parent / "samples" / "piece.mid")
    written, audio_problem = [], None
    for (events, notes), path in zip(pieces, output_paths(out, len(pieces))):
        write_midi(notes, path, tokenizer.steps_per_beat, tempo)
        seconds = piece_seconds(notes, tokenizer.seconds_per_step(tempo))
        entry = {
            "midi": str(path),
            "png": str(piano_roll(path, path.with_suffix(".png"))),
            "events": events,
            "notes": len(notes),
            "seconds": round(seconds, 2),
            "seed": seed,
        }
        if music.wav:
            wav = path.with_suffix(".wav")
            audio_problem = audio_problem or render_wav(path, wav)
            if audio_problem:  # no fluidsynth: the small synthesiser of synth.py
                step = tokenizer.seconds_per_step(tempo)
                wav.write_bytes(wav_bytes(synthesize(notes, step)))
            entry["wav"] = str(wav)
        written.append(entry)
    return written


def piece_seconds(notes: np.ndarray, seconds_per_step: float) -> float:
    return float((notes[:, 0] + notes[:, 1]).max(initial=0)) * seconds_per_step


def cut_notes(notes: np.ndarray, steps: int) -> np.ndarray:
    """The notes that start within ``steps`` grid steps, ended there at the latest."""
    notes = notes[notes[:, 0] < steps].copy()
    notes[:, 1] = np.minimum(notes[:, 1], steps - notes[:, 0])
    return notes


def sample_pieces(
    bundle, sample: dict, seconds: float | None, tempo: float, device="cpu"
) -> tuple[list[tuple[int, np.ndarray]], int]:
    """(events, grid notes) per sampled piece and the seed. With ``seconds``, events are sampled
    until every piece lasts that long (the length doubled each try, one seed), then cut there."""
    tokenizer = bundle.tokenizer
    length = sample.get("length", SampleConfig.length)
    if seconds is not None:
        if seconds <= 0:
            raise RecurError("--seconds must be above 0")
        length = max(int(seconds * EVENTS_PER_SECOND), 16)
    for _ in range(LENGTH_TRIES):
        result = generate(
            bundle.model, tokenizer, SampleConfig(**{**sample, "length": length}), device=device
        )
        sample = {**sample, "seed": result.seed}
        pieces = [
            (len(text.split()), clean_notes(tokenizer.decode_notes(tokenizer.encode(text))))
            for text in result.texts
        ]
        step = tokenizer.seconds_per_step(tempo)
        if seconds is None or all(piece_seconds(n, step) >= seconds for _, n in pieces):
            break
        length = min(2 * length, MAX_EVENTS)
    if seconds is not None:
        steps = int(round(seconds / tokenizer.seconds_per_step(tempo)))
        pieces = [(events, cut_notes(notes, steps)) for events, notes in pieces]
    return pieces, result.seed


def evaluate_midi(bundle, path, device="cpu") -> dict:
    """Loss per event of a run on MIDI files (a file or folder), with the unigram baseline."""
    data = from_dict(
        DataConfig,
        {**bundle.config.get("data", {}), "paths": [str(path)], "corpus": None, "transpose": "0"},
    )
    pieces, _ = read_pieces(data)
    tokenizer = bundle.tokenizer
    ids = np.concatenate(
        [tokenizer.encode_notes(quantize(p.notes, tokenizer.steps_per_beat)) for p in pieces]
    )
    total, count = stream_loss(bundle.model, ids, device)
    return {**metrics(total, count, count), "unigram_loss": unigram_loss(tokenizer.counts, ids)}
