"""The classifier's options: labels, preprocessing, head and imbalance handling."""

from __future__ import annotations

from dataclasses import dataclass

from recur.config.fields import option

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
        "the final model (best/) averages the weights at the last N "
        "validations, by default the ends of the last N epochs (0: the validation with the best "
        "macro-F1)",
    )
    patience: int = option(
        3,
        "stop when validation macro-F1 has not improved for N validations, by default epochs "
        "(0: never)",
    )
    init_from: str | None = option(
        None,
        "start the encoder from this language-model run "
        "(same token level; its tokenizer is reused)",
    )
    freeze_epochs: float = option(
        1.0,
        "with --init-from or --lm-finetune: train only the head and new weights for this many "
        "epochs first; with --unfreeze gradual, also the epochs between one layer group's "
        "unfreezing and the next",
    )
    unfreeze: str = option(
        "gradual",
        "with --init-from or --lm-finetune: unfreeze the copied layer groups one at a time from "
        "the top, every --freeze-epochs (ULMFiT's gradual unfreezing), or all at once",
        choices=("gradual", "all"),
    )
    lr_decay: float = option(
        2.6,
        "with --init-from or --lm-finetune: discriminative learning rates, each copied layer "
        "group's rate this factor smaller than the group above it (ULMFiT's 2.6; 1: one rate)",
    )
    lm_finetune: float = option(
        0.0,
        "first fine-tune the language model (--init-from, or one trained from scratch on these "
        "texts) on the training split's texts for this share of the budget, then start the "
        "classifier from it; the language model is kept in RUN/lm (0: off)",
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
