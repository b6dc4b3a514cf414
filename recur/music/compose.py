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
from recur.data.pieces import read_pieces, unigram_loss, warn
from recur.errors import RecurError
from recur.generate.loop import generate
from recur.lm.evaluate import metrics, stream_loss
from recur.tokenizers.midi import MidiTokenizer


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
    result = generate(bundle.model, tokenizer, SampleConfig(**sample), device=device)
    out = music.out or str(bundle.path.parent / "samples" / "piece.mid")
    tempo = music.tempo or tokenizer.tempo
    written, audio_problem = [], None
    for text, path in zip(result.texts, output_paths(out, len(result.texts))):
        notes = clean_notes(tokenizer.decode_notes(tokenizer.encode(text)))
        write_midi(notes, path, tokenizer.steps_per_beat, tempo)
        seconds = (
            float((notes[:, 0] + notes[:, 1]).max(initial=0))
            * 60
            / (tempo * tokenizer.steps_per_beat)
        )
        entry = {
            "midi": str(path),
            "png": str(piano_roll(path, path.with_suffix(".png"))),
            "events": len(text.split()),
            "notes": len(notes),
            "seconds": round(seconds, 2),
            "seed": result.seed,
        }
        if music.wav and not audio_problem:
            audio_problem = render_wav(path, path.with_suffix(".wav"))
            if audio_problem:
                warn(audio_problem)
            else:
                entry["wav"] = str(path.with_suffix(".wav"))
        written.append(entry)
    return written


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
