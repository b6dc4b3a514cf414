"""A small synthesiser of its own for hearing a piece where fluidsynth is not installed: each note
a few sine harmonics under a plucked envelope, mixed in numpy and written as 16-bit mono WAV."""

from __future__ import annotations

import io
import wave

import numpy as np

RATE = 22_050  # samples per second: plenty for a preview, half the bytes of CD rate
HARMONICS = (1.0, 0.5, 0.25, 0.12)  # relative loudness of the first partials: an organ-like tone
RELEASE = 0.08  # seconds a note fades out after it ends, so it never clicks


def synthesize(notes: np.ndarray, seconds_per_step: float, rate: int = RATE) -> np.ndarray:
    """Grid notes (start, duration, pitch, velocity) -> float samples in [-1, 1]."""
    notes = np.asarray(notes, dtype=np.float64).reshape(-1, 4)
    end = float((notes[:, 0] + notes[:, 1]).max(initial=0)) * seconds_per_step + RELEASE
    out = np.zeros(int(end * rate) + 1)
    for start, duration, pitch, velocity in notes:
        length = duration * seconds_per_step
        t = np.arange(int((length + RELEASE) * rate)) / rate
        frequency = 440.0 * 2 ** ((pitch - 69) / 12)
        tone = sum(
            weight * np.sin(2 * np.pi * frequency * (k + 1) * t)
            for k, weight in enumerate(HARMONICS)
            if frequency * (k + 1) < rate / 2
        )
        attack = np.minimum(t / 0.01, 1.0)
        decay = np.exp(-2.5 * t) * np.clip((length + RELEASE - t) / RELEASE, 0, 1)
        first = int(start * seconds_per_step * rate)
        out[first : first + len(t)] += (velocity / 127) * 0.25 * tone * attack * decay
    peak = np.abs(out).max(initial=0)
    return out / peak * 0.9 if peak > 0.9 else out


def wav_bytes(samples: np.ndarray, rate: int = RATE) -> bytes:
    """Float samples -> a 16-bit mono WAV file's bytes."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()
