"""Typed configuration: the one source of defaults for the library and the CLI.

Each field carries a ``help`` text in its metadata; ``cli.py`` turns these into ``--flags``
(``hidden_size`` -> ``--hidden-size``). Precedence is default < config file < flag.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field


def option(default, help: str, **kwargs):
    """A dataclass field whose help text becomes the CLI's ``--help``."""
    if isinstance(default, (list, dict)):
        return field(
            default_factory=lambda: type(default)(default), metadata={"help": help, **kwargs}
        )
    return field(default=default, metadata={"help": help, **kwargs})


CELLS = ("lstm", "gru", "rnn")
LEVELS = ("char", "word", "bpe")
DOCUMENTS = ("auto", "none", "rows", "lines", "blocks")


@dataclass
class ModelConfig:
    """Shape of a recurrent language model; saved as ``config.json["model"]``."""

    cell: str = option(
        "gru", "recurrent cell (GRU trains fastest to a given loss on CPU)", choices=CELLS
    )
    num_layers: int = option(
        2, "number of stacked recurrent layers (3 for character models given --time 10m or more)"
    )
    hidden_size: int = option(
        256, "width of each recurrent layer (320 for character models given --time 10m or more)"
    )
    embedding_size: int = option(128, "width of the token embedding")
    dropout: float = option(0.0, "dropout on embeddings, between layers and before the decoder")
    tie_weights: bool = option(
        True, "share embedding and decoder weights when embedding_size == hidden_size"
    )
    adaptive_softmax: str = option(
        "auto",
        "cut the output layer into frequency clusters at these "
        "token ids, e.g. 2000,10000: an adaptive softmax (Grave "
        "et al. 2017), far faster for large vocabularies, never "
        "tied; none: one full softmax; auto: 2000,10000 when the "
        "vocabulary has 20,000 tokens or more, else none",
    )
    condition_embedding: bool = option(
        False,
        "conditional models: also add a learned vector for "
        "the document's condition values to the input at "
        "every step (not only as start tokens)",
    )
    vocab_size: int = option(0, "number of token ids; set from the tokenizer", cli=False)
    condition_ids: list = option(
        [], "token ids of each condition column's values; set from the tokenizer", cli=False
    )


@dataclass
class DataConfig:
    """Where the text comes from and how it is cut into training batches."""

    paths: list = option([], "text files or folders to train on", cli=False)
    corpus: str | None = option(None, "a built-in corpus by name (see `recur corpora`)")
    glob: str = option("*", "pattern of the files to read inside folders (recursive)")
    encoding: str = option("utf-8", "text encoding of the input files")
    level: str = option(
        "char", "token level: characters, words, or byte-level BPE subwords", choices=LEVELS
    )
    lowercase: bool = option(False, "word level: lower-case all text")
    split_punctuation: bool = option(
        True,
        "word level: every punctuation mark is a token of its "
        "own (off: words are runs of non-space characters)",
    )
    min_count: int = option(1, "word level: words seen fewer times in training become <unk>")
    max_vocab: int = option(0, "word level: keep only the N most frequent words (0: all)")
    bpe_vocab_size: int = option(8000, "BPE level: vocabulary size to learn", flag="--vocab-size")
    documents: str = option(
        "auto",
        "one document per CSV/JSONL row (rows), per line (lines), per "
        "blank-line-separated block (blocks), or one continuous text "
        "(none); auto: rows for .csv/.jsonl files, else none",
        choices=DOCUMENTS,
    )
    text_column: str | None = option(
        None,
        "CSV/JSONL: the column holding the text; several "
        "comma-separated columns are joined by --separator",
    )
    separator: str = option("\\n", "text put between joined --text-column values (\\n: newline)")
    condition_column: str | None = option(
        None, "train a conditional model on this column (comma-separate several, e.g. genre,artist)"
    )
    condition_every_line: bool = option(
        False,
        "char/word level: repeat the condition tokens "
        "after every line end inside a document, so long "
        "documents keep their condition in view",
    )
    where: str | None = option(None, "CSV/JSONL: keep only rows where COLUMN=VALUE")
    conditions: dict = option({}, "condition values with their document counts", cli=False)
    val_fraction: float = option(
        0.1,
        "fraction held out for validation: the end of a text, or "
        "a seeded random share of the documents",
    )
    batch_size: int = option(32, "parallel token streams per batch (B)")
    seq_length: int = option(
        128,
        "steps of truncated backpropagation through time per chunk (T); "
        "64 for plain character text under a 10-minute budget",
    )
    midi: bool = option(
        False, "read MIDI files as music (automatic when the inputs are .mid/.midi)"
    )
    quantize: int = option(4, "MIDI: grid steps per quarter note (4: sixteenth notes)")
    tracks: str = option("all", "MIDI: instruments to use, 'all' (merged) or numbers such as 0,2")
    drums: bool = option(False, "MIDI: also read drum tracks (skipped by default)")
    transpose: str = option(
        "-5..6",
        "MIDI: augment the training pieces with every shift in this "
        "range of semitones (every key); 0 turns it off",
    )
    velocity: bool = option(False, "MIDI: keep note velocities (8 levels) as events")


@dataclass
class TrainConfig:
    """How long and how to optimise; also where the run directory goes."""

    out: str | None = option(None, "run directory (default runs/<corpus or file name>)")
    steps: int | None = option(None, "stop after this many optimizer steps")
    epochs: float | None = option(None, "stop after this many passes over the training text")
    time: str | None = option(
        None,
        "wall-clock training budget such as 90s, 3m or 1h; the learning-rate schedule ends with it",
    )
    stop_after: int | None = option(
        None,
        "leave the run at this step (as Ctrl-C would) without "
        "changing its plan; continue later with --resume",
    )
    size: str = option(
        "given",
        "given: the model is --hidden-size wide; auto: with --time, the "
        "widest model (at --num-layers) the budget gives 2 training tokens "
        "per parameter at this machine's measured speed (sets "
        "--hidden-size, and --lr 4e-3 from 512 wide)",
        choices=("given", "auto"),
    )
    lr: float = option(6e-3, "peak learning rate of AdamW")
    min_lr_ratio: float = option(0.02, "final learning rate as a fraction of --lr")
    warmup_steps: int = option(50, "linear warm-up steps before the decay")
    weight_decay: float = option(
        0.01,
        "AdamW weight decay on weight matrices (plain character "
        "models: 0.1, or 0.4 with --time 10m or more)",
    )
    grad_clip: float = option(1.0, "clip the global gradient norm to this value (0: off)")
    eval_every: str = option(
        "auto", "validate every N steps or every duration such as 30s (auto: about 6 times per run)"
    )
    max_val_tokens: int = option(
        250_000,
        "validate on at most this many tokens from the start of "
        "the validation slice, as one stream (0: all of it)",
    )
    val_streams: int = option(
        32,
        "validation during training reads the validation text as "
        "this many slices side by side, each after 256 tokens of "
        "warm-up, instead of one stream at batch 1 (1: one stream, "
        "the figure recur evaluate gives)",
    )
    log_every: int = option(50, "write a training line to metrics.jsonl every N steps")
    precision: str = option(
        "fp32",
        "training arithmetic: fp32, or bf16 / fp16 autocast (CUDA; "
        "fp16 adds loss scaling). On CPUs without AMX bf16 is slower",
        choices=("fp32", "bf16", "fp16"),
    )
    seed: int = option(0, "random seed for initialisation, data order and dropout")
    device: str = option("auto", "cpu, cuda, cuda:N or auto")
    threads: int | None = option(None, "CPU threads for PyTorch (default: all cores)")
    samples: int = option(2, "short samples printed at each validation (0: none)")


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


POOLINGS = ("max", "mean", "last", "attention", "concat")


@dataclass
class ClassifierConfig:
    """A text classifier's labels, preprocessing, head and imbalance handling; saved as
    ``config.json["classifier"]`` and applied again at prediction. Model width, depth, cell and
    token level come from ModelConfig and DataConfig as for language models."""

    label_column: str | None = option(
        None, "CSV/JSONL: the column holding the class; makes `recur train` train a classifier"
    )
    classes: list = option([], "class names in id order; set from the training data", cli=False)
    bidirectional: bool = option(True, "read the text in both directions")
    pooling: str = option(
        "max",
        "how the per-token outputs become one vector (concat: last, max and mean side by side)",
        choices=POOLINGS,
    )
    newlines: str = option(
        "space",
        "line ends: keep them as tokens, or turn them into spaces",
        choices=("keep", "space"),
    )
    drop_text: str = option(
        "instrumental",
        "drop rows whose whole text is one of these "
        "placeholders (comma-separated, any case; '' keeps all)",
    )
    language: str | None = option(
        None,
        "keep only rows a stop-word detector judges to be in "
        "this language (en); rows under 8 words are kept",
    )
    min_class_count: int = option(2, "drop classes with fewer training rows than this")
    max_tokens: int = option(400, "truncate each text to this many tokens (0: never)")
    truncate: str = option(
        "head",
        "what truncation keeps: the head, or head and tail halves",
        choices=("head", "head_tail"),
    )
    embedding_init: str = option(
        "svd",
        "start the embedding from word vectors of the training "
        "split (PPMI + SVD, seconds; word and BPE levels), or at "
        "random",
        choices=("svd", "random"),
    )
    vectors_from: str | None = option(
        None,
        "with --embedding-init svd: also count words in "
        "these unlabelled text files or folders (one text "
        "per line), such as more text of the same kind",
    )
    word_dropout: float = option(
        0.0,
        "training only: turn this fraction of the tokens into "
        "<unk>, so the model cannot lean on a few words",
    )
    class_weight: str = option(
        "balanced",
        "weight the loss by inverse class frequency, or not",
        choices=("balanced", "none"),
    )
    sampler: str = option(
        "natural",
        "batches drawn as the data falls, or balanced by class",
        choices=("natural", "balanced"),
    )
    ensemble: int = option(
        1,
        "train N classifiers (seeds seed..seed+N-1, each an equal share "
        "of what is left of a --time budget) and predict with the mean "
        "of their probabilities",
    )
    average_epochs: int = option(
        3,
        "the final model (best/) averages the weights at the end of "
        "the last N epochs (0: the epoch with the best validation "
        "macro-F1)",
    )
    patience: int = option(
        3, "stop when validation macro-F1 has not improved for N epochs (0: never)"
    )
    init_from: str | None = option(
        None,
        "start the encoder from this language-model run "
        "(same token level; its tokenizer is reused)",
    )
    freeze_epochs: float = option(
        1.0, "with --init-from: train only the head and new weights for this many epochs first"
    )
    blend: str = option(
        "tfidf",
        "after training, blend the RNN's class probabilities with a "
        "TF-IDF + logistic regression fitted on the same training "
        "split (geometric mean, weight chosen on the validation "
        "split, 0 keeps the RNN alone), or not",
        choices=("tfidf", "none"),
    )
    group_by: str | None = option(
        None, "also report the metrics per value of this column (years are grouped by decade)"
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
    wav: bool = option(False, "also render a .wav with fluidsynth and a General MIDI soundfont")


# Conditional document models of characters or words (--condition-column) start from these values
# for every option not given: a song of a thousand characters framed with one genre token
# drifts off its genre, so the condition is repeated after every line end and its embedding is
# added to every step's input.
CONDITIONAL_DEFAULTS = {"condition_every_line": True, "condition_embedding": True}

# Character models of plain text given a --time budget of at least LONG_BUDGET_SECONDS (and no
# --steps/--epochs) start deeper and wider: on tiny Shakespeare with 2 threads, 10 minutes gave
# validation 1.4302 at 2x384 against 1.4511 at 2x256, while at 3 minutes 2x256 was better (1.497
# vs 1.527); with the oneDNN products (2026-12-02) 3x320 gave 1.3882 / 1.3922 at seeds 0 / 1
# against 2x384's 1.3900-1.4008 (four runs) / 1.3994, in fewer steps (2,271 against 2,350-2,854).
LONG_BUDGET_SECONDS = 600
# They keep the default 128-step chunks: with 64 steps the 10-minute run gave 1.4658 (3,108
# steps) against 1.4391 at 128 (1,565 steps), both 2026-12-01.
# The larger model overfits more in its longer run and decays harder still (measured at 2x384):
# 10 minutes gave 1.4205 / 1.4097 / 1.4038 at --weight-decay 0.1 / 0.2 / 0.4 (2026-12-01,
# 1,398 / 1,326 / 1,309 steps; 1.4391 at 0.01 in an earlier run of 1,565 steps).
LONG_BUDGET_DEFAULTS = {"num_layers": 3, "hidden_size": 320, "weight_decay": 0.4}
# Other plain character runs take 64-step chunks: twice the updates per minute (tiny Shakespeare,
# 2 threads: 80 s 1.5547 against 1.5861 at 128, 3 minutes 1.4795 against 1.4854). Conditional
# lyrics lost with them (10 minutes: validation 1.3427 against 1.3227, and with --guidance 1 only
# 53% of country songs read as country against 97%), so documents with conditions, words, BPE
# and music keep 128.
# They also decay their weight matrices ten times harder than the general default: tiny
# Shakespeare overfits within minutes (3 minutes, 2 threads: training step loss 1.28 against
# validation 1.4788 at 0.01). Validation loss at 0.01 / 0.1 / 0.2 / 0.4: 1.4788 / 1.4574 /
# 1.4624 / 1.4749 after 3 minutes (2x256), all 2026-12-01; at a fixed 650 steps (about 80 s)
# 1.5510 at 0.1 against 1.5525 at 0.01. Dropout 0.1 was worse at 3 minutes (1.5151).
CHARACTER_DEFAULTS = {"seq_length": 64, "weight_decay": 0.1}


def parse_duration(text: str) -> float:
    """'90', '90s', '3m', '1.5h' -> seconds."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([smh]?)\s*", str(text))
    if not match:
        raise ValueError(f"cannot read the duration {text!r}: use a number with s, m or h, like 3m")
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"s": 1, "m": 60, "h": 3600}[unit]


def to_dict(config) -> dict:
    return dataclasses.asdict(config)


# Model options added after runs were saved with them missing: the value that reproduces those runs
# (a saved model config without "adaptive_softmax" had a full softmax, whatever its vocabulary).
SAVED_MODEL_FALLBACKS = {"adaptive_softmax": "none"}


def saved_model_config(values: dict) -> ModelConfig:
    """The ModelConfig of a saved run (config.json's "model"), older runs included."""
    return from_dict(ModelConfig, {**SAVED_MODEL_FALLBACKS, **values})


def from_dict(cls, values: dict):
    """Build ``cls`` from a dict, ignoring keys a newer or older version may add."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})
