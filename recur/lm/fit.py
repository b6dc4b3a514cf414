"""Setting up and running a language-model run (kind "lm" or "music"): ``fit()``.

Reads and tokenizes the data (corpus.py) with rank 0 first when torchrun started several
processes, sizes the model with ``--size auto``, then hands a ``LanguageModelTask`` to the one
``Trainer``. See ``api.train`` for the Python call.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from recur.config.options import DataConfig, ModelConfig, TrainConfig
from recur.errors import RecurError
from recur.lm.corpus import Corpus, condition_ids, document_summary, prepare_corpus
from recur.lm.task import LanguageModelTask
from recur.models.adaptive_io import AdaptiveInput
from recur.models.language_model import count_parameters
from recur.runs import checkpoint
from recur.runs.logbook import Logbook, plot_losses
from recur.tokenizers import WordTokenizer
from recur.training.distributed import Group
from recur.training.session import close_run, open_run
from recur.training.sizing import auto_size
from recur.training.trainer import Trainer


def fit(
    data: DataConfig,
    model: ModelConfig,
    train: TrainConfig,
    resume: str | None = None,
    quiet: bool = False,
) -> Path:
    """Train a language model; returns the run directory. See ``api.train`` for the Python call."""
    session = open_run(train, data, resume)
    group, device, run_dir = session.group, session.device, session.run_dir
    tokenizer = checkpoint.load_run_tokenizer(run_dir / "last") if resume else None
    started = time.perf_counter()
    corpus = _prepare_in_turn(group, data, tokenizer, run_dir)
    prepared_in = time.perf_counter() - started
    if data.validation_file and len(corpus.val_ids) < 2:
        raise RecurError(f"--validation-file {data.validation_file}: it holds fewer than 2 tokens")
    if data.val_fraction > 0 and len(corpus.val_ids) < 2:
        raise RecurError("the validation slice is too small: add text or raise --val-fraction")
    model.vocab_size = corpus.tokenizer.vocab_size
    if model.condition_embedding and not resume:
        model.condition_ids = condition_ids(corpus.tokenizer, data.conditions)
    log = Logbook(run_dir, quiet or not group.is_main, enabled=group.is_main)
    if train.size == "auto" and not resume:
        for line in auto_size(model, data, train, device, group.active):
            log.say(line)
    task = LanguageModelTask({"data": data, "model": model, "train": train}, corpus, group)
    trainer = Trainer(task, train, session, log)
    if resume:
        trainer.resume()
    _summary(trainer, task, resume)
    if corpus.documents is not None and group.is_main:
        document_summary(corpus.documents, data, run_dir, log.say)
    log.say(f"data read and tokenized in {prepared_in:.1f} s")
    if session.note and device.type == "cpu":
        log.say(session.note)
    try:
        trainer.run()
    finally:
        log.close()
        if group.is_main:
            plot_losses(run_dir)
    if corpus.baseline is not None and trainer.best < float("inf"):
        log.write({"kind": "baseline", "unigram_val_loss": corpus.baseline, "best": trainer.best})
        log.say(
            f"best validation loss {trainer.best:.4f} nats/event against "
            f"{corpus.baseline:.4f} for a unigram model of the same events"
        )
    close_run(session)
    return run_dir


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


def _summary(trainer: Trainer, task: LanguageModelTask, resume) -> None:
    corpus, say = task.corpus, trainer.log.say
    config = task.model_config
    source = f" (from {task.data.validation_file})" if task.data.validation_file else ""
    say(
        f"{'resuming' if resume else 'training'} {trainer.run_dir}: "
        f"{len(corpus.train_ids):,} training and {len(corpus.val_ids):,} validation tokens"
        f"{source}, vocabulary {corpus.tokenizer.vocab_size}"
    )
    if isinstance(corpus.tokenizer, WordTokenizer):
        say(corpus.tokenizer.describe())
    if corpus.summary:
        say(corpus.summary)
    model: Any = trainer.model
    threads = torch.get_num_threads()
    adaptive = f", adaptive softmax {model.decoder.cutoffs[:-1]}" if model.adaptive else ""
    if model.adaptive and isinstance(model.embedding, AdaptiveInput):
        adaptive += " sharing the adaptive input's clusters"
    say(
        f"model: {config.num_layers}x{config.hidden_size} {config.cell.upper()}, embedding "
        f"{config.embedding_size}{', tied' if model.tied else ''}{adaptive}"
        f"{', condition embedding' if model.conditioned else ''}, "
        f"{count_parameters(model):,} parameters on {trainer.device} "
        f"({threads} thread{'s' if threads != 1 else ''}); batch {task.data.batch_size}x"
        f"{task.data.seq_length}"
    )
    say(f"plan: {trainer.plan.describe()}" + (f", from step {trainer.step}" if resume else ""))
    limit = trainer.train.max_val_tokens
    if limit and len(corpus.val_ids) > limit:
        say(
            f"validation uses the first {limit:,} of {len(corpus.val_ids):,} validation tokens "
            "(--max-val-tokens); recur evaluate measures any whole file"
        )
