"""Every preset: the kinds of run, the values each kind starts from, and which kind a set of
options asks for. A run's options resolve as dataclass defaults < its kind's preset < config
file < flags (``recur.runs.configs`` applies them; ``recur train --help`` shows them).

Why each value is what it is, with the measurements: docs/experiments.md, "Why the defaults are
what they are".
"""

from __future__ import annotations

from collections.abc import Callable

from recur.config.fields import from_dict, parse_duration
from recur.config.options import DataConfig, ModelConfig, TrainConfig

TEXT = "text"
CHARACTER = "character"
LONG_BUDGET = "long-budget character"
CONDITIONAL = "conditional document"
WORD = "word"
MUSIC = "music"
CLASSIFIER = "classifier"
SERIES = "series"
FORECAST = "forecast"
GPU_CHARACTER = "character on a GPU"

# Plain character text takes short chunks (more updates per minute) and a stronger weight decay
# (it overfits within minutes; 0.2 beat 0.1 at a 3-minute run's 4,000 steps, at two seeds); see
# docs/experiments.md, Character language models and "The 3-minute character model at equal steps".
# Muon on the recurrent matrices beat AdamW by 0.02 at 80 s and 3 minutes despite 15% fewer steps
# ("Muon on the recurrent matrices").
# Three Newton-Schulz iterations instead of Muon's five: level at equal steps, 9-13% more steps
# where the orthogonalisation is a fifth of a step; 0.007 lower at 80 s, 0.005 at 3 minutes
# (three seeds) on a CPU without AMX ("Fewer Newton-Schulz iterations").
CHARACTER_DEFAULTS: dict = {
    "cell": "lstm",
    "seq_length": 64,
    "weight_decay": 0.2,
    "optimizer": "muon",
    "newton_schulz_steps": 3,
}
# An LSTM: with Muon it learned 0.008-0.017 more than the GRU at 2,300 equal steps (two seeds),
# and in bf16 it trains 1.25x the GRU's tokens/s: 0.013 lower at 3 minutes (three seeds); see
# docs/experiments.md, "The LSTM again". minGRU, minLSTM and the Mogrifier did not win a
# budget side by side (same file, Newer cells).

# A character budget of at least this many seconds (and no --steps/--epochs) affords a deeper,
# wider model, which then needs the default 128-step chunks and a harder decay; see
# docs/experiments.md, Character language models. With Muon it fits faster and overfits more:
# 0.8 beat 0.4 and 1.2 ("Muon on the recurrent matrices"); the mean of the second half's weights
# and a cosine to 0 gained 0.015 more at two seeds ("Averaged weights at 10 minutes"). An LSTM
# in bf16 beat the GRU by 0.0035 and 0.0046 at two seeds ("The LSTM again").
LONG_BUDGET_SECONDS = 600
LONG_BUDGET_DEFAULTS: dict = {
    "cell": "lstm",
    "num_layers": 3,
    "hidden_size": 320,
    "weight_decay": 0.8,
    "optimizer": "muon",
    "min_lr_ratio": 0.0,
    "average_from": 0.5,
}

# A long document framed by one condition token drifts off its condition, so conditional
# character/word models repeat it after every line and add its embedding at every step; see
# docs/experiments.md, Conditional lyrics.
CONDITIONAL_DEFAULTS: dict = {"condition_every_line": True, "condition_embedding": True}

# Word-level text (--level word, no condition column): AWD-LSTM's recipe (Merity et al. 2018), a
# tied LSTM with locked dropout and weight drop, scaled from the paper's 3x1150 model and hundreds
# of epochs to the few epochs of a 10-minute CPU budget, where lighter dropout won and averaged
# weights did not help; see docs/experiments.md, "The word preset". The tied embedding starts
# uniform in +-0.25: from N(0, 1) AdamW's small steps barely move it within such a budget (see
# "The word embedding's starting range"). On large vocabularies the adaptive softmax's clusters
# narrow by 2, not 4, with the tied adaptive input (see "Tied adaptive input and softmax").
WORD_DEFAULTS: dict = {
    "cell": "lstm",
    "num_layers": 2,
    "hidden_size": 400,
    "embedding_size": 400,
    "tie_weights": True,
    "dropout": 0.25,
    "locked_dropout": True,
    "weight_drop": 0.1,
    "embedding_init_range": 0.25,
    "adaptive_div_value": 2.0,
    "batch_size": 32,
    "seq_length": 35,
    "lr": 3e-3,
}

# The text model overfits the small MIDI sets and repeats notes; this LSTM met the music bars;
# see docs/experiments.md, Music.
MUSIC_DEFAULTS: dict = {
    "cell": "lstm",
    "hidden_size": 384,
    "embedding_size": 384,
    "lr": 4e-3,
    "precision": "fp32",  # what met the music bars; a MIDI LSTM in bf16 was not measured
}

# What met the classification bars: one bidirectional GRU layer over words seen twice or more,
# dropout, 10 epochs with early stopping; see docs/experiments.md, Classifiers.
CLASSIFIER_DEFAULTS: dict = {
    "level": "word",
    "min_count": 2,
    "cell": "gru",
    "num_layers": 1,
    "hidden_size": 256,
    "embedding_size": 128,
    "dropout": 0.3,
    "lr": 3e-3,
    "warmup_steps": 20,
    "epochs": 10.0,
}

# Numeric sequences (classify, regress, forecast): a small GRU reads tens to hundreds of steps of
# a few channels; see docs/series.md, "Why the defaults".
SERIES_DEFAULTS: dict = {
    "cell": "gru",
    "num_layers": 1,
    "hidden_size": 64,
    "dropout": 0.1,
    "lr": 3e-3,
    "warmup_steps": 20,
    "weight_decay": 0.01,
    "batch_size": 32,
    "val_fraction": 0.2,
}

# A forecaster often learns from one short series (a few hundred steps): a narrow network over
# the seasonal-walk start overfits less, and long budgets overfit it, so it trains at most 150
# epochs (a cap under --time; --steps replaces it), validates every 50 steps, stops after 10
# validations without a better CRPS and keeps the best weights; see docs/series.md, "Why the
# defaults".
FORECAST_DEFAULTS: dict = {
    **SERIES_DEFAULTS,
    "hidden_size": 16,
    "epochs": 150.0,
    "eval_every": "50",
    "forecast_patience": 10,
    "keep": "best",
}

# Character text trained on a CUDA GPU (--device cuda, or auto where PyTorch sees one): a GPU
# runs a wide model at a big batch in bf16 as fast as a CPU runs a narrow one. A first guess,
# not yet measured on a GPU: python -m benchmarks.gpu measures it (docs/gpu.md).
GPU_CHARACTER_DEFAULTS: dict = {
    "cell": "lstm",
    "hidden_size": 1024,
    "embedding_size": 256,
    "dropout": 0.25,
    "batch_size": 128,
    "seq_length": 128,
    "precision": "bf16",
    "lr": 2e-3,
    "weight_decay": 0.1,
}

PRESETS: dict[str, dict] = {
    TEXT: {},
    CHARACTER: CHARACTER_DEFAULTS,
    LONG_BUDGET: LONG_BUDGET_DEFAULTS,
    CONDITIONAL: CONDITIONAL_DEFAULTS,
    WORD: WORD_DEFAULTS,
    MUSIC: MUSIC_DEFAULTS,
    CLASSIFIER: CLASSIFIER_DEFAULTS,
    SERIES: SERIES_DEFAULTS,
    FORECAST: FORECAST_DEFAULTS,
    GPU_CHARACTER: GPU_CHARACTER_DEFAULTS,
}

# The training budget when none of --steps, --epochs and --time is given.
DEFAULT_BUDGET = "5m"

# Model options added after runs were saved with them missing: the value that reproduces those runs
# (a saved model config without "adaptive_softmax" had a full softmax, whatever its vocabulary;
# one without "adaptive_input" had an untied full embedding beside its adaptive softmax, whose
# clusters narrowed by 4).
SAVED_MODEL_FALLBACKS = {
    "adaptive_softmax": "none",
    "adaptive_input": False,
    "adaptive_div_value": 4.0,
}


def saved_model_config(values: dict) -> ModelConfig:
    """The ModelConfig of a saved run (config.json's "model"), older runs included."""
    return from_dict(ModelConfig, {**SAVED_MODEL_FALLBACKS, **values})


def asks_for_classifier(
    options: dict, config_file: dict | None, corpus_kind: Callable[[str], str]
) -> bool:
    """A label column, a labelled built-in corpus, or a config file with a classifier label
    column (``options`` are the flags given; a --corpus given decides alone)."""
    if options.get("label_column"):
        return True
    if options.get("corpus"):
        return corpus_kind(options["corpus"]) == "labelled"
    if config_file:
        return bool(config_file.get("classifier", {}).get("label_column"))
    return False


def asks_for_series(
    options: dict, config_file: dict | None, corpus_kind: Callable[[str], str]
) -> bool:
    """--target or --forecast, a numeric built-in corpus, or a config file with a series
    section that has either."""
    if options.get("target") or options.get("forecast"):
        return True
    if options.get("corpus"):
        return corpus_kind(options["corpus"]) == "series"
    section = (config_file or {}).get("series", {})
    return bool(section.get("target") or section.get("forecast"))


def language_model_kind(
    data: DataConfig, train: TrainConfig, music: bool, gpu: bool = False
) -> str:
    """The kind of a language model run, from its configs before the preset is applied
    (``music``: MIDI inputs, as data/pieces.py's ``is_music`` tells; ``gpu``: it trains on a
    CUDA device)."""
    if music:
        return MUSIC
    if data.condition_column and data.level in ("char", "word"):
        return CONDITIONAL
    if data.level == "word":
        return WORD
    if data.level != "char":
        return TEXT
    if gpu:
        return GPU_CHARACTER
    if train.time and train.steps is None and train.epochs is None:
        if _seconds(train.time) >= LONG_BUDGET_SECONDS:
            return LONG_BUDGET
    return CHARACTER


def _seconds(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError:
        return 0.0  # make_plan reports the bad duration
