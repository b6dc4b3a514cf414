"""The options of ``recur generate``: decoding (SampleConfig) and MIDI output (MusicConfig)."""

from __future__ import annotations

from dataclasses import dataclass

from recur.config.fields import option


@dataclass
class SampleConfig:
    """Decoding settings for ``recur generate``."""

    prime: str = option("", "text the samples start from")
    length: int = option(
        500,
        "tokens to generate per sample (document models: the most "
        "tokens a document may take, else it is resampled)",
    )
    num_samples: int = option(1, "samples generated together as one batch", flag="-n")
    temperature: float = option(0.8, "softmax temperature; 0 picks the most likely token")
    top_k: int = option(0, "sample only from the K most likely tokens (0: off)")
    top_p: float = option(1.0, "sample from the smallest set of tokens whose probability reaches P")
    seed: int | None = option(None, "random seed; the same seed gives the same text")
    stop: str | None = option(None, "end a sample when this string appears (it is not printed)")
    condition: str | None = option(
        None,
        "conditional models: COLUMN=VALUE (comma-separate "
        "several); columns left out are drawn at random",
    )
    min_words: int | None = option(None, "document models: resample documents shorter than this")
    max_words: int | None = option(None, "document models: resample documents longer than this")
    unique: bool = option(False, "document models: no two outputs alike")
    no_repeat_ngram: int = option(0, "never repeat a token n-gram of this size within a sample")
    beam: int = option(0, "beam search with K beams for the most likely completion (0: sample)")
    guidance: float = option(
        0.0,
        "conditional models: steer each token towards --condition and "
        "away from the column's other values, scores log p(x|c) + "
        "W * (log p(x|c) - log mean p(x|other c)) (0: off)",
    )
    precision: str = option(
        "fp32",
        "weights of the one-token steps: fp32 (exact), bf16 or int8 "
        "(CPU; fewer bytes per token, slightly different numbers)",
        choices=("fp32", "bf16", "int8"),
    )


@dataclass
class MusicConfig:
    """Output settings for ``recur generate`` on a MIDI run."""

    out: str | None = option(
        None,
        "MIDI file to write (-n 3 writes NAME-1.mid ... NAME-3.mid); "
        "a piano-roll PNG goes beside each",
    )
    prime_midi: str | None = option(None, "MIDI file whose first --prime-seconds start the pieces")
    prime_seconds: float = option(8.0, "seconds of --prime-midi to start from")
    tempo: float | None = option(
        None, "beats per minute of the written MIDI (default: the training pieces' median tempo)"
    )
    seconds: float | None = option(
        None,
        "length of each piece in seconds: events are sampled until the piece lasts this long, "
        "then cut there (instead of --length events)",
    )
    wav: bool = option(False, "also render a .wav with fluidsynth and a General MIDI soundfont")
