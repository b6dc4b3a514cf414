"""Setting up and running a training run: ``fit()``.

Reads and tokenizes the data (through the on-disk token cache for character-level files), picks the
device and joins a torchrun group when there is one, makes or reopens the run directory, restores
exact-resume state, then hands over to ``Trainer``. See ``api.train`` for the Python call.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from recur.config.options import DataConfig, ModelConfig, TrainConfig
from recur.data.readers import collect_files, load_text
from recur.data.streams import frame_documents, split_documents, split_text
from recur.errors import RecurError
from recur.models.language_model import count_parameters
from recur.runs import checkpoint
from recur.runs.logbook import Logbook, plot_losses
from recur.tokenizers import build_tokenizer
from recur.training.distributed import Group, setup, teardown
from recur.training.machine import auto_threads, choose_device
from recur.training.trainer import Trainer


@dataclass
class Corpus:
    tokenizer: object
    train_ids: np.ndarray
    val_ids: np.ndarray
    val_characters: int
    summary: str = ""  # extra summary line (MIDI: files, notes, events)
    baseline: float | None = None  # unigram loss of the validation tokens (MIDI)
    documents: object = None  # documents.Documents of a document model


def prepare_corpus(data: DataConfig, tokenizer=None, cache_dir: Path | None = None) -> Corpus:
    """Read the text, split it (last ``val_fraction`` is validation), fit and apply the tokenizer.

    MIDI inputs go to music.prepare_midi (bits per char are then bits per event). Document
    inputs (CSV/JSONL rows, lines, blocks) become framed documents. Character-level files go
    through the on-disk token cache (flat memory for any size); built-in corpora and word / BPE
    levels are tokenized in memory. Sets ``data.documents`` to the resolved mode.
    """
    from recur.data.documents import resolve_mode
    from recur.music.runs import is_music, prepare_midi

    if is_music(data):
        return Corpus(**prepare_midi(data, tokenizer))
    data.documents = (
        resolve_mode(data, collect_files(data.paths, data.glob))
        if data.paths
        else ("none" if data.documents == "auto" else data.documents)
    )
    if data.documents != "none":
        return prepare_documents(data, tokenizer)
    if data.level == "char" and data.paths and cache_dir is not None:
        from recur.data.token_cache import build_cache

        fitted, train_ids, val_ids = build_cache(
            data.paths, data.glob, data.encoding, data.val_fraction, cache_dir
        )
        if tokenizer is not None and tokenizer.symbols != fitted.symbols:
            raise RecurError(
                "the training data changed since this run started; resume needs "
                "the same files (or start a new run)"
            )
        return Corpus(fitted, train_ids, val_ids, max(len(val_ids) - 1, 0))
    text = load_text(data.paths, data.corpus, data.glob, data.encoding)
    train_text, val_text = split_text(text, data.val_fraction)
    if tokenizer is None:
        tokenizer = build_tokenizer(data.level, data).fit([train_text])
    val_ids = tokenizer.encode_array(val_text)
    val_characters = len(val_text) - len(tokenizer.decode(val_ids[:1].tolist()))
    return Corpus(tokenizer, tokenizer.encode_array(train_text), val_ids, val_characters)


def prepare_documents(data: DataConfig, tokenizer=None) -> Corpus:
    """Documents -> a seeded document-level split -> two framed id streams."""
    from recur.data.documents import read_documents, split_names
    from recur.tokenizers import condition_token

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


def default_run_dir(data: DataConfig) -> Path:
    """runs/<corpus or first file's stem>, with -2, -3... when that name is taken."""
    stem = data.corpus or (Path(data.paths[0]).stem if data.paths else "run")
    candidate, number = Path("runs") / stem, 1
    while candidate.exists():
        number += 1
        candidate = Path("runs") / f"{stem}-{number}"
    return candidate


def fit(
    data: DataConfig,
    model: ModelConfig,
    train: TrainConfig,
    resume: str | None = None,
    quiet: bool = False,
) -> Path:
    """Train a language model; returns the run directory. See ``api.train`` for the Python call."""
    threads, note = auto_threads(train)  # before our own work adds to the load
    group, device_name = setup(train.device)
    if group.active and not train.threads:
        threads = max(1, (os.cpu_count() or 1) // group.world_size)  # ranks share the cores
    device = choose_device(train, device_name, threads)
    run_dir = Path(resume) if resume else Path(train.out) if train.out else default_run_dir(data)
    if not resume and ((run_dir / "last").exists() or (run_dir / "best").exists()):
        raise RecurError(
            f"{run_dir} already holds a run: continue it with --resume {run_dir}, "
            "or choose another --out"
        )
    tokenizer = checkpoint.load(run_dir / "last").tokenizer if resume else None
    started = time.perf_counter()
    corpus = _prepare_in_turn(group, data, tokenizer, run_dir)
    prepared_in = time.perf_counter() - started
    if data.val_fraction > 0 and len(corpus.val_ids) < 2:
        raise RecurError("the validation slice is too small: add text or raise --val-fraction")
    model.vocab_size = corpus.tokenizer.vocab_size
    if model.condition_embedding and not resume:
        model.condition_ids = _condition_ids(corpus.tokenizer, data.conditions)
    log = Logbook(run_dir, quiet or not group.is_main, enabled=group.is_main)
    if train.size == "auto" and not resume:
        from recur.training.sizing import auto_size

        for line in auto_size(model, data, train, device, group.active):
            log.say(line)
    trainer = Trainer(
        {"data": data, "model": model, "train": train}, corpus, run_dir, device, log, group
    )
    if resume:
        _restore(trainer, run_dir / "last", device)
    _summary(trainer, resume)
    if corpus.documents is not None and group.is_main:
        _document_summary(corpus.documents, data, run_dir, log.say)
    log.say(f"data read and tokenized in {prepared_in:.1f} s")
    if note and device.type == "cpu" and not group.active:
        log.say(note)
    try:
        trainer.run()
    finally:
        log.close()
        if group.is_main:
            plot_losses(run_dir)
    if corpus.baseline is not None:
        log.write({"kind": "baseline", "unigram_val_loss": corpus.baseline, "best": trainer.best})
        log.say(
            f"best validation loss {trainer.best:.4f} nats/event against "
            f"{corpus.baseline:.4f} for a unigram model of the same events"
        )
    if group.active:
        torch.distributed.barrier()  # the others wait until rank 0 has written
    teardown(group)
    return run_dir


def _condition_ids(tokenizer, conditions: dict) -> list:
    """Per condition column, the token ids of its values (for --condition-embedding)."""
    from recur.tokenizers import condition_token

    if not conditions:
        raise RecurError("--condition-embedding needs a conditional model (--condition-column)")
    return [
        [tokenizer.condition_id(condition_token(column, value)) for value in values]
        for column, values in conditions.items()
    ]


def _prepare_in_turn(group: Group, data: DataConfig, tokenizer, run_dir: Path) -> Corpus:
    """Rank 0 builds the token cache first; the other ranks then read it."""
    if group.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        corpus = prepare_corpus(data, tokenizer, run_dir / "cache")
    if group.active:
        torch.distributed.barrier()
    if not group.is_main:
        corpus = prepare_corpus(data, tokenizer, run_dir / "cache")
    return corpus


def _restore(trainer: Trainer, directory: Path, device) -> None:
    from safetensors.torch import load_model

    from recur.runs.trainer_state import restore

    load_model(trainer.model, str(directory / "model.safetensors"), device=str(device))
    restore(trainer, checkpoint.load_trainer_state(directory))


def _document_summary(documents, data: DataConfig, run_dir: Path, say) -> None:
    """Say what was read; keep the fingerprints of the documents for the novelty report."""
    import json

    from recur.data.documents import fingerprint

    say(
        f"documents ({data.documents}): {len(documents.texts):,} read, {documents.skipped:,} "
        f"empty skipped"
        + (f", {documents.filtered:,} left out by --where {data.where}" if data.where else "")
    )
    for column, values in data.conditions.items():
        shown = ", ".join(f"{value} ({count})" for value, count in list(values.items())[:12])
        more = f" and {len(values) - 12} more" if len(values) > 12 else ""
        say(f"condition {column}: {shown}{more}")
    prints = sorted({fingerprint(text) for text in documents.texts})
    (run_dir / "documents.json").write_text(
        json.dumps(
            {
                "normalization": "lower case, white space removed; sha1, first 16 hex digits",
                "documents": len(documents.texts),
                "fingerprints": prints,
            }
        )
    )


def _summary(trainer: Trainer, resume) -> None:
    corpus, say = trainer.corpus, trainer.log.say
    config = trainer.model_config
    say(
        f"{'resuming' if resume else 'training'} {trainer.run_dir}: "
        f"{len(corpus.train_ids):,} training and {len(corpus.val_ids):,} validation tokens, "
        f"vocabulary {corpus.tokenizer.vocab_size}"
    )
    if corpus.summary:
        say(corpus.summary)
    say(
        f"model: {config.num_layers}x{config.hidden_size} {config.cell.upper()}, embedding "
        f"{config.embedding_size}{', tied' if trainer.model.tied else ''}"
        f"{', adaptive softmax ' + str(trainer.model.decoder.cutoffs[:-1]) if trainer.model.adaptive else ''}"
        f"{', condition embedding' if trainer.model.conditioned else ''}, "
        f"{count_parameters(trainer.model):,} parameters on {trainer.device} "
        f"({torch.get_num_threads()} thread{'s' if torch.get_num_threads() != 1 else ''}); batch {trainer.data.batch_size}x"
        f"{trainer.data.seq_length}"
    )
    say(f"plan: {trainer.plan.describe()}" + (f", from step {trainer.step}" if resume else ""))
    limit = trainer.train.max_val_tokens
    if limit and len(corpus.val_ids) > limit:
        say(
            f"validation uses the first {limit:,} of {len(corpus.val_ids):,} validation tokens "
            "(--max-val-tokens); recur evaluate measures any whole file"
        )
