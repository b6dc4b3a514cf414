"""A language model's data: ``prepare_corpus`` reads and tokenizes a run's text (or documents, or
MIDI pieces through data/pieces.py) into training and validation id streams, a ``Corpus``.

Character-level files go through the on-disk token cache (flat memory for any size); built-in
corpora and word / BPE levels are tokenized in memory. Document inputs (CSV/JSONL rows, lines,
blocks) become framed documents, with their conditions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from recur.config.options import DataConfig
from recur.data.document_cache import CachedDocuments, cached_documents
from recur.data.documents import fingerprint, read_documents, resolve_mode, split_names
from recur.data.pieces import is_music, prepare_midi
from recur.data.readers import collect_files, load_text, read_texts
from recur.data.streams import frame_documents, split_documents, split_text
from recur.data.text_cache import cached_text
from recur.data.token_cache import build_cache
from recur.errors import RecurError
from recur.runs.integrity import atomic_write_text
from recur.tokenizers import build_tokenizer, condition_token


@dataclass
class Corpus:
    tokenizer: Any
    train_ids: Any  # an id array, or a token cache's file of ids
    val_ids: Any
    val_characters: int
    summary: str = ""  # extra summary line (MIDI: files, notes, events)
    baseline: float | None = None  # unigram loss of the validation tokens (MIDI)
    documents: Any = None  # documents.Documents of a document model


def prepare_corpus(data: DataConfig, tokenizer=None, cache_dir: Path | None = None) -> Corpus:
    """Read the text, split it (last ``val_fraction`` is validation), fit and apply the tokenizer.

    MIDI inputs go to music.prepare_midi (bits per char are then bits per event). Document
    inputs (CSV/JSONL rows, lines, blocks) become framed documents. Character-level files go
    through the on-disk token cache (flat memory for any size); built-in corpora and word / BPE
    levels are tokenized in memory. Sets ``data.documents`` to the resolved mode.
    """
    if is_music(data):
        _plain_text_only(data, "MIDI pieces")
        return Corpus(**prepare_midi(data, tokenizer))
    data.documents = (
        resolve_mode(data, collect_files(data.paths, data.glob))
        if data.paths
        else ("none" if data.documents == "auto" else data.documents)
    )
    if data.documents != "none":
        _plain_text_only(data, f"documents (--documents {data.documents})")
        if data.paths and cache_dir is not None:  # a training run: ids on disk, built once
            fitted, train_ids, val_ids, info = cached_documents(data, tokenizer)
            return Corpus(fitted, train_ids, val_ids, info.val_characters, documents=info)
        return prepare_documents(data, tokenizer)
    if data.validation_file:
        return with_validation_file(data, tokenizer, cache_dir)
    if data.level == "char" and data.paths and cache_dir is not None:
        fitted, train_ids, val_ids = build_cache(
            data.paths, data.glob, data.encoding, data.val_fraction, cache_dir
        )
        if tokenizer is not None and tokenizer.symbols != fitted.symbols:
            raise RecurError(
                "the training data changed since this run started; resume needs "
                "the same files (or start a new run)"
            )
        return Corpus(fitted, train_ids, val_ids, max(len(val_ids) - 1, 0))
    if data.level in ("word", "bpe") and data.paths and cache_dir is not None:
        fitted, train_ids, val_ids, characters = cached_text(data, tokenizer)
        return Corpus(fitted, train_ids, val_ids, characters)
    text = load_text(data.paths, data.corpus, data.glob, data.encoding)
    train_text, val_text = split_text(text, data.val_fraction)
    if tokenizer is None:
        tokenizer = build_tokenizer(data.level, data).fit([train_text])
    val_ids = tokenizer.encode_array(val_text)
    val_characters = len(val_text) - len(tokenizer.decode(val_ids[:1].tolist()))
    return Corpus(tokenizer, tokenizer.encode_array(train_text), val_ids, val_characters)


def with_validation_file(data: DataConfig, tokenizer, cache_dir: Path | None) -> Corpus:
    """All of the training text trains; ``data.validation_file`` (read whole, encoded with the
    training text's tokenizer) validates, as pytorch/examples and AWD-LSTM use valid.txt."""
    path = str(data.validation_file)
    if not Path(path).is_file():
        raise RecurError(f"--validation-file {path}: no such file; give a text file")
    text = read_texts([path], "*", data.encoding)  # first: fail before caching
    whole = prepare_corpus(
        replace(data, validation_file=None, val_fraction=0.0), tokenizer, cache_dir
    )
    val_ids = whole.tokenizer.encode_array(text)
    val_characters = len(text) - len(whole.tokenizer.decode(val_ids[:1].tolist()))
    return Corpus(whole.tokenizer, whole.train_ids, val_ids, val_characters)


def _plain_text_only(data: DataConfig, what: str) -> None:
    if data.validation_file:
        raise RecurError(
            f"--validation-file works with plain text, not {what}: leave it out and hold out "
            "--val-fraction instead"
        )


def prepare_documents(data: DataConfig, tokenizer=None) -> Corpus:
    """Documents -> a seeded document-level split -> two framed id streams."""
    documents = read_documents(data, data.documents)
    columns = split_names(data.condition_column)
    counts = documents.counts(columns)
    if tokenizer is None:
        data.conditions = counts
    train, val = split_documents(len(documents.texts), data.val_fraction)
    tokens = [condition_token(c, v) for c in columns for v in data.conditions.get(c, {})]
    if tokenizer is None:
        tokenizer = build_tokenizer(data.level, data).fit(
            (documents.texts[i] for i in train), tokens
        )
    unseen = [
        t
        for c, values in counts.items()
        for v in values
        if tokenizer.condition_id(t := condition_token(c, v)) is None
    ]
    if unseen:
        raise RecurError(f"the data has condition values this run never saw: {', '.join(unseen)}")

    def framed(indices):
        return frame_documents(
            tokenizer,
            [documents.texts[i] for i in indices],
            [documents.conditions[i] for i in indices],
            columns,
            data.condition_every_line,
        )

    characters = sum(len(documents.texts[i]) + 1 for i in val)
    return Corpus(tokenizer, framed(train), framed(val), characters, documents=documents)


def condition_ids(tokenizer, conditions: dict) -> list:
    """Per condition column, the token ids of its values (for --condition-embedding)."""
    if not conditions:
        raise RecurError("--condition-embedding needs a conditional model (--condition-column)")
    return [
        [tokenizer.condition_id(condition_token(column, value)) for value in values]
        for column, values in conditions.items()
    ]


def document_summary(documents, data: DataConfig, run_dir: Path, say) -> None:
    """Say what was read; keep the fingerprints of the documents for the novelty report."""
    if not isinstance(documents, CachedDocuments):
        documents = summarise(documents)
    say(
        f"documents ({data.documents}): {documents.count:,} read, {documents.skipped:,} "
        f"empty skipped"
        + (f", {documents.filtered:,} left out by --where {data.where}" if data.where else "")
    )
    for column, values in data.conditions.items():
        shown = ", ".join(f"{value} ({count})" for value, count in list(values.items())[:12])
        more = f" and {len(values) - 12} more" if len(values) > 12 else ""
        say(f"condition {column}: {shown}{more}")
    atomic_write_text(
        run_dir / "documents.json",
        json.dumps(
            {
                "normalization": "lower case, white space removed; sha1, first 16 hex digits",
                "documents": documents.count,
                "fingerprints": [f"{value:016x}" for value in documents.fingerprints.tolist()],
            }
        ),
    )


def summarise(documents) -> CachedDocuments:
    """An in-memory ``Documents``' counts and fingerprints, as the token cache keeps them."""
    prints = np.unique(np.array([int(fingerprint(t), 16) for t in documents.texts], np.uint64))
    return CachedDocuments(len(documents.texts), documents.skipped, documents.filtered, prints, 0)
