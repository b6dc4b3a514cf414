"""Typed configuration of a language model run: the dataclasses whose field help texts become
``recur train``'s flags (``hidden_size`` -> ``--hidden-size``).

The values each kind of run starts from (character, music, classifier, ...) are in
``config/presets.py``; precedence is dataclass default < preset < config file < flag. The
classifier's and ``recur generate``'s dataclasses live beside this file and are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

from recur.config.classifier_options import POOLINGS, ClassifierConfig
from recur.config.fields import from_dict, option, parse_duration, to_dict
from recur.config.sample_options import MusicConfig, SampleConfig

__all__ = [
    "CELLS",
    "DEVICE_HELP",
    "DOCUMENTS",
    "LEVELS",
    "POOLINGS",
    "ClassifierConfig",
    "DataConfig",
    "ModelConfig",
    "MusicConfig",
    "SampleConfig",
    "TrainConfig",
    "from_dict",
    "option",
    "parse_duration",
    "to_dict",
]

CELLS = ("lstm", "gru", "rnn", "mingru", "minlstm", "mogrifier")
LEVELS = ("char", "word", "bpe")
DOCUMENTS = ("auto", "none", "rows", "lines", "blocks")
# --device of train, generate, evaluate and predict (the rule: recur/runs/devices.py).
DEVICE_HELP = "cpu, cuda, cuda:N or auto (auto: cuda when PyTorch sees a GPU, else cpu)"


@dataclass
class ModelConfig:
    """Shape of a recurrent language model; saved as ``config.json["model"]``."""

    cell: str = option(
        "gru",
        "recurrent cell: gru, lstm, rnn, mingru / minlstm (gates from the input only, trained "
        "in parallel over the chunk), mogrifier (see docs/cells.md)",
        choices=CELLS,
    )
    num_layers: int = option(2, "number of stacked recurrent layers")
    mogrifier_rounds: int = option(
        5, "--cell mogrifier: rounds in which input and state gate each other (0: a plain LSTM)"
    )
    feedforward: int = option(
        2,
        "--cell mingru/minlstm: each layer's feed-forward sublayer is this many times "
        "--hidden-size wide (0: none)",
    )
    hidden_size: int = option(256, "width of each recurrent layer")
    embedding_size: int = option(128, "width of the token embedding")
    dropout: float = option(0.0, "dropout on embeddings, between layers and before the decoder")
    locked_dropout: bool = option(
        False,
        "AWD-LSTM: --dropout on the embeddings, between layers (lstm, gru, rnn: run one layer at "
        "a time while training) and before the decoder uses one mask per sequence for all its "
        "steps (variational dropout)",
    )
    embedding_dropout: float = option(
        0.0, "AWD-LSTM: drop whole words (rows of the embedding matrix) while training"
    )
    weight_drop: float = option(
        0.0, "AWD-LSTM: DropConnect on the hidden-to-hidden weights (lstm, gru, rnn) while training"
    )
    activation_regularization: float = option(
        0.0, "AWD-LSTM's AR: this times the mean square of the top layer's dropped outputs"
    )
    temporal_activation_regularization: float = option(
        0.0, "AWD-LSTM's TAR: this times the mean square of the top layer's change per step"
    )
    tie_weights: bool = option(
        True, "share embedding and decoder weights when embedding_size == hidden_size"
    )
    embedding_init_range: float = option(
        0.0,
        "start the embedding uniform in plus or minus this (AWD-LSTM and pytorch/examples: "
        "0.1); 0: PyTorch's N(0, 1)",
    )
    adaptive_softmax: str = option(
        "auto",
        "cut the output layer into frequency clusters at these "
        "token ids, e.g. 2000,10000: an adaptive softmax (Grave "
        "et al. 2017), far faster for large vocabularies (tied "
        "through adaptive_input); none: one full softmax; auto: 2000,10000 when the "
        "vocabulary has 20,000 tokens or more, else none",
    )
    adaptive_input: bool = option(
        True,
        "with an adaptive softmax and tie_weights (embedding_size == hidden_size): split the "
        "embedding into the softmax's frequency clusters, narrower for rarer words, and share "
        "them with it (Baevski & Auli 2019); false: a full embedding, not tied",
    )
    adaptive_div_value: float = option(
        4.0,
        "the adaptive softmax's (and adaptive input's) clusters: each tail cluster this many "
        "times narrower than the one before",
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
    split_punctuation: str | bool = option(
        "auto",
        "word level: yes: every punctuation mark is a token of its own; no: words are runs of "
        "non-space characters (text already tokenised, as Penn Treebank and WikiText are); auto: "
        "no when the training text's punctuation already stands alone, else yes",
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
    validation_file: str | None = option(
        None,
        "plain text: validate on this file (e.g. WikiText's valid.txt) and train on all of the "
        "training text, instead of holding out --val-fraction of it",
    )
    batch_size: int = option(32, "parallel token streams per batch (B)")
    seq_length: int = option(128, "steps of truncated backpropagation through time per chunk (T)")
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
    optimizer: str = option(
        "adamw",
        "adamw (decoupled weight decay on matrices); muon: Muon on the recurrent layers' weight "
        "matrices, gate by gate, AdamW on the rest (see --muon-lr-scale); or sgd: plain SGD as "
        "pytorch/examples' word model trains (it needs its own --lr, such as 20, and "
        "--weight-decay becomes an L2 term on matrices, lr x decay per step: keep it 0 or tiny)",
        choices=("adamw", "sgd", "muon"),
    )
    muon_lr_scale: float = option(
        2.0,
        "--optimizer muon: each gate matrix steps --lr x this x 0.2 x sqrt(its larger side), "
        "the RMS-matched rate of Liu et al. 2025 times this",
    )
    newton_schulz_steps: int = option(
        5,
        "--optimizer muon: Newton-Schulz iterations that orthogonalise each gate matrix's "
        "momentum (Muon's reference takes 5; fewer even the scales less, for less work)",
    )
    lr: float = option(6e-3, "peak learning rate of the optimizer")
    min_lr_ratio: float = option(0.02, "final learning rate as a fraction of --lr")
    warmup_steps: int = option(50, "linear warm-up steps before the decay")
    schedule: str = option(
        "auto",
        "how the learning rate moves: cosine (--warmup-steps, then a cosine decay to "
        "--min-lr-ratio), or stlr, the slanted triangular rate of ULMFiT (Howard & Ruder 2018: "
        "a linear rise over --stlr-cut of the run, then a linear fall to lr/--stlr-ratio); "
        "auto: stlr for a classifier started from a language model (--init-from, "
        "--lm-finetune), cosine otherwise",
        choices=("auto", "cosine", "stlr"),
    )
    stlr_cut: float = option(0.1, "--schedule stlr: the fraction of the run the rate rises")
    stlr_ratio: float = option(32.0, "--schedule stlr: how many times smaller the lowest rate is")
    weight_decay: float = option(0.01, "weight decay on weight matrices (see --optimizer)")
    average_from: float = option(
        0.0,
        "validate, sample and save best/ with the mean of the weights after every step from "
        "this fraction of the plan on (ASGD's average, as AWD-LSTM evaluates; 0: off)",
    )
    grad_clip: float = option(1.0, "clip the global gradient norm to this value (0: off)")
    eval_every: str = option(
        "auto",
        "validate every N steps or every duration such as 30s (auto: about 6 times in a "
        "language-model run, after every epoch in a classifier run)",
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
        "auto",
        "training arithmetic: fp32, or bf16 / fp16 autocast (CUDA; fp16 adds loss scaling); "
        "auto: bf16 matrix products for a GRU/minGRU/minLSTM language model, or an LSTM one "
        "over 1,000+ tokens, on a CPU with bf16 instructions (AMX or AVX-512 bf16; weights and "
        "log-softmax in fp32), else fp32. "
        "The run's config records the choice",
        choices=("auto", "fp32", "bf16", "fp16"),
    )
    seed: int = option(0, "random seed for initialisation, data order and dropout")
    device: str = option("auto", DEVICE_HELP)
    threads: int | None = option(None, "CPU threads for PyTorch (default: all cores)")
    samples: int = option(2, "short samples printed at each validation (0: none)")
