"""ULMFiT's target-domain language-model fine-tuning (``--lm-finetune SHARE``): before the
classifier trains, a language model learns the training split's own texts (no labels needed),
inside the same run and the same budget, and the classifier starts from its encoder.

The language model is ``--init-from``'s, fine-tuned, or, without ``--init-from``, one of the
classifier's shape trained from scratch on these texts (its embedding started from the word
vectors, as the classifier's would be). It trains through the one ``Trainer`` on the texts of
the training split laid end to end (``<eos>`` between them), is validated on the validation
split's texts, follows the slanted triangular rate, and is kept as a language-model run in
``RUN/lm`` (``best/``, ``last/``, ``metrics.jsonl``), so ``recur generate RUN/lm`` works and the
run records what it did. Of a ``--time`` budget it takes ``SHARE`` and the classifier what is
left; of ``--steps`` it takes that share of the steps; ``--epochs`` caps its passes over the
texts at ``SHARE`` of the classifier's epochs.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import cast

import numpy as np
import torch

from recur.config.options import ModelConfig, TrainConfig, from_dict, parse_duration
from recur.errors import RecurError
from recur.lm.corpus import Corpus
from recur.lm.task import LanguageModelTask
from recur.runs import checkpoint
from recur.runs.logbook import Logbook
from recur.training.session import Session
from recur.training.trainer import Trainer

FOLDER = "lm"


def stream(ids: list, eos_id: int) -> np.ndarray:
    """Texts' ids laid end to end, each followed by ``<eos>``."""
    pieces = [piece for row in ids for piece in (np.asarray(row, dtype=np.int64), [eos_id])]
    return np.concatenate(pieces).astype(np.int64) if pieces else np.zeros(0, dtype=np.int64)


def stage_plans(train: TrainConfig, share: float) -> tuple[TrainConfig, TrainConfig]:
    """(the language model's plan, the classifier's plan before the stage's time is known)."""
    seconds = parse_duration(train.time) if train.time else None
    lm_steps = max(1, round(share * train.steps)) if train.steps else None
    lm = replace(
        train,
        steps=lm_steps,
        time=f"{share * seconds:g}s" if seconds else None,
        epochs=share * train.epochs if train.epochs else None,
        stop_after=None,
        schedule="stlr",
        samples=0,
        eval_every="auto",
    )
    if train.steps and train.steps - (lm_steps or 0) < 1:
        raise RecurError(f"--steps {train.steps}: too few to share with --lm-finetune {share:g}")
    rest = replace(train, steps=train.steps - lm_steps if train.steps and lm_steps else train.steps)
    if lm.steps is None and lm.time is None and lm.epochs is None:
        lm.epochs = 1.0
    return lm, rest


def language_model_config(configs: dict, source, vocab_size: int) -> ModelConfig:
    if source is not None:
        return from_dict(ModelConfig, source.config["model"])
    # a full embedding: the classifier copies its rows (and word vectors start them)
    return replace(configs["model"], vocab_size=vocab_size, condition_ids=[], adaptive_input=False)


def finetune_language_model(configs: dict, prepared, session: Session, log, source, quiet: bool):
    """Train the stage's language model; returns its ``Bundle`` and sets the classifier's plan
    (``configs["train"]``) to what the stage left of the budget."""
    data, train, classifier = configs["data"], configs["train"], configs["classifier"]
    tick = time.perf_counter()
    lm_train, rest = stage_plans(train, classifier.lm_finetune)
    tokenizer = prepared.tokenizer
    corpus = Corpus(
        tokenizer,
        stream(prepared.train.ids, tokenizer.eos_id),
        stream(prepared.val.ids, tokenizer.eos_id),
        sum(len(text) + 1 for text in prepared.val.texts),
    )
    lm_data = replace(data, documents="none", conditions={}, condition_every_line=False)
    lm_model = language_model_config(configs, source, tokenizer.vocab_size)
    lm_configs = {"data": lm_data, "model": lm_model, "train": lm_train}
    task = LanguageModelTask(lm_configs, corpus, session.group)
    lm_dir = session.run_dir / FOLDER
    if session.group.is_main:
        lm_dir.mkdir(parents=True, exist_ok=True)
    lm_log = Logbook(lm_dir, quiet or not session.group.is_main, enabled=session.group.is_main)
    trainer = Trainer(task, lm_train, replace(session, run_dir=lm_dir), lm_log)
    start_weights(trainer.model, source, prepared.vectors)
    origin = f"fine-tuning {classifier.init_from}" if source else "from scratch"
    log.say(
        f"language model ({origin}, --lm-finetune {classifier.lm_finetune:g}): "
        f"{len(corpus.train_ids):,} training and "
        f"{len(corpus.val_ids):,} validation tokens of the split's texts; plan: "
        f"{trainer.plan.describe()}; kept in {lm_dir}"
    )
    trainer.run()
    seconds = time.perf_counter() - tick
    if train.time:
        left = max(1.0, parse_duration(train.time) - seconds)
        rest = replace(rest, time=f"{left:g}s")
    configs["train"] = rest
    log.write(
        {
            "kind": "lm_finetune",
            "from": classifier.init_from or "scratch",
            "steps": trainer.step,
            "seconds": round(seconds, 3),
            "best_val_loss": trainer.best,
        }
    )
    log.say(
        f"language model: {trainer.step} steps in {seconds:.0f} s, best validation loss "
        f"{trainer.best:.4f}; the classifier starts from it"
        + (f" with {rest.time} of the budget left" if train.time else "")
    )
    return checkpoint.load(lm_dir)


def start_weights(model: torch.nn.Module, source, vectors) -> None:
    """The stage's starting point: the source language model's weights, or (from scratch)
    word vectors in the embedding rows they cover."""
    if source is not None:
        model.load_state_dict(source.model.state_dict())
        return
    if vectors is None:
        return
    vectors = torch.as_tensor(vectors, dtype=torch.float32)
    embedding = cast(torch.nn.Embedding, model.get_submodule("embedding")).weight
    rows = vectors.abs().sum(dim=1) > 0
    with torch.no_grad():
        embedding[rows] = vectors[rows].to(embedding.device, embedding.dtype)
