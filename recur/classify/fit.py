"""Setting up a classifier run: ``fit_classifier()``.

Reads the labelled rows, applies the preprocessing rules (saying what each removed), drops rare
classes, makes the stratified split, fits the tokenizer on the training split (or reuses the
language model's with ``--init-from``), encodes and truncates, then hands a ``ClassifierTask``
to the one ``Trainer`` (with ``--ensemble N``, one per member: ensemble.py), after fine-tuning a
language model on the training texts with ``--lm-finetune`` (lm_stage.py). After training,
the ``best/`` model is reported on the validation split beside the two baselines:
``report.json``, ``confusion.png`` and the text on screen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recur.classify.batches import reported_split, split_summary
from recur.classify.big_tables import is_big, prepare_big
from recur.classify.ensemble import train_members
from recur.classify.labelled import LabelledSet, predict_probabilities
from recur.classify.linear import baseline_rows, blend, choose_weight, fit_linear
from recur.classify.lm_stage import FOLDER, finetune_language_model
from recur.classify.preprocess import Preprocessor, apply_rules, distribution, rare_classes
from recur.classify.reports import (
    by_group,
    format_baselines,
    format_groups,
    format_report,
    majority_baseline,
    names,
    plot_confusion,
    scores,
)
from recur.classify.task import ClassifierTask
from recur.classify.transfer import source_name
from recur.classify.word_vectors import starting_vectors
from recur.data.labelled import read_examples
from recur.errors import RecurError
from recur.models.language_model import count_parameters
from recur.runs import checkpoint
from recur.runs.integrity import atomic_write_text
from recur.runs.logbook import Logbook
from recur.tokenizers import build_tokenizer
from recur.training.session import Session, close_run, open_run
from recur.training.trainer import Trainer


@dataclass
class Prepared:
    train: LabelledSet
    val: LabelledSet
    tokenizer: Any
    lines: list  # the summary a user reads before training
    preprocessor: object = None
    vectors: object = None  # (V, E) starting embedding rows (--embedding-init svd), or None


def select_rows(data, classifier, lines: list) -> tuple:
    """Examples kept by the rules and the class filter: (texts, labels, groups, preprocessor)."""
    examples = read_examples(data, classifier)
    preprocessor = Preprocessor(classifier, data.lowercase)
    lines.append(
        f"rows: {len(examples.texts) + examples.missing_labels:,} read"
        + (
            f", {examples.missing_labels:,} with an empty or NaN label dropped"
            if examples.missing_labels
            else ""
        )
    )
    lines.append(f"classes before: {distribution(examples.labels)}")
    kept, removed = apply_rules(examples, preprocessor)
    if removed:
        lines.append(
            "preprocessing removed: "
            + ", ".join(f"{n:,} {reason}" for reason, n in removed.most_common())
        )
    labels = [examples.labels[i] for i in kept]
    rare = rare_classes(labels, classifier.min_class_count)
    if rare:
        lines.append(
            f"classes with fewer than {classifier.min_class_count} rows dropped "
            "(--min-class-count): " + ", ".join(f"{c} ({n})" for c, n in rare.items())
        )
        kept = [i for i in kept if examples.labels[i] not in rare]
    texts = [preprocessor.clean(examples.texts[i]) for i in kept]
    labels = [examples.labels[i] for i in kept]
    groups = [examples.groups[i] for i in kept]
    if len(set(labels)) < 2:
        raise RecurError(
            f"only one class left ({', '.join(set(labels)) or 'none'}): a "
            "classifier needs at least two; check --label-column and the filters"
        )
    lines.append(f"classes after:  {distribution(labels)}")
    return texts, labels, groups, preprocessor


def training_split(data, classifier, seed: int, lines: list) -> tuple:
    """The rows of a run and its stratified split: (texts, labels, groups, preprocessor,
    train indices, validation indices). The same data and config give the same split."""
    texts, labels, groups, preprocessor = select_rows(data, classifier, lines)
    train, val = reported_split(labels, data.val_fraction, seed, lines)
    return texts, labels, groups, preprocessor, train, val


def prepare(data, classifier, seed: int, tokenizer=None, folder: Path | None = None) -> Prepared:
    """Everything the trainer needs; ``classifier.classes`` is set (kept when resuming). Big
    CSV/JSONL inputs are prepared on disk in ``folder`` (big_tables.py)."""
    lines: list[str] = []
    if folder is not None and is_big(data):
        train_set, val_set, tokenizer, preprocessor = prepare_big(
            data, classifier, seed, tokenizer, folder, lines
        )
        return Prepared(train_set, val_set, tokenizer, lines, preprocessor)
    texts, labels, groups, preprocessor, train, val = training_split(data, classifier, seed, lines)
    if not classifier.classes:
        classifier.classes = sorted(set(labels))
    unknown = sorted(set(labels) - set(classifier.classes))
    if unknown:
        raise RecurError(f"the data has classes this run never saw: {', '.join(unknown)}")
    if tokenizer is None:
        tokenizer = build_tokenizer(data.level, data).fit(texts[i] for i in train)
    lines += split_summary(data.level, seed, train, val, tokenizer)
    ids = [tokenizer.encode_array(text) for text in texts]
    lengths = np.array([len(i) for i in ids])
    cut = int((lengths > classifier.max_tokens).sum()) if classifier.max_tokens else 0
    lines.append(
        f"tokens per text: median {int(np.median(lengths))}, 95th percentile "
        f"{int(np.percentile(lengths, 95))}, longest {lengths.max():,}"
        + (f"; {cut:,} texts cut to {classifier.max_tokens} ({classifier.truncate})" if cut else "")
    )
    index = {name: i for i, name in enumerate(classifier.classes)}

    def labelled(rows):
        return LabelledSet(
            [preprocessor.cut(ids[i]) for i in rows],
            np.array([index[labels[i]] for i in rows], dtype=np.int64),
            [texts[i] for i in rows],
            [groups[i] for i in rows],
        )

    return Prepared(labelled(train), labelled(val), tokenizer, lines, preprocessor)


def init_from(run: str, data, model) -> checkpoint.Bundle:
    """The language model to start from; its tokenizer and shape replace ours."""
    bundle = checkpoint.load(run)
    if bundle.kind == "classifier":
        raise RecurError(f"--init-from {run}: not a language-model run")
    level = bundle.config["data"]["level"]
    if level != data.level:
        raise RecurError(
            f"--init-from {run}: that model reads {level} tokens, this run "
            f"--level {data.level}; they must match"
        )
    source = bundle.config["model"]
    for name in ("cell", "num_layers", "hidden_size", "embedding_size", "vocab_size"):
        setattr(model, name, source[name])
    for name in ("mogrifier_rounds", "feedforward"):  # absent from runs saved before them
        setattr(model, name, source.get(name, getattr(model, name)))
    data.lowercase = bundle.config["data"].get("lowercase", data.lowercase)
    return bundle


def fit_classifier(configs: dict, resume: str | None = None, quiet: bool = False) -> Path:
    """Train a classifier; ``configs`` has data, model, train and classifier sections."""
    data, model, train, classifier = (configs[k] for k in ("data", "model", "train", "classifier"))
    session = open_run(train, data, resume, ("last", "best", "members", FOLDER))
    transfer = bool(classifier.init_from) or classifier.lm_finetune > 0
    if train.schedule == "auto" and transfer and not resume:  # a resumed run keeps its own
        train.schedule = "stlr"
    group, device, run_dir = session.group, session.device, session.run_dir
    # A resumed ensemble may still have members to start from the language model.
    source = (
        init_from(classifier.init_from, data, model)
        if classifier.init_from and (not resume or classifier.ensemble > 1)
        else None
    )
    tokenizer = (
        checkpoint.load_run_tokenizer(run_dir / "last")
        if resume
        else (source.tokenizer if source else None)
    )
    prepared = prepare(data, classifier, train.seed, tokenizer, run_dir / "cache")
    model.vocab_size = prepared.tokenizer.vocab_size
    # A resumed run reloads its weights; only an ensemble's members not started yet need these.
    if source is None and (not resume or classifier.ensemble > 1):
        prepared.vectors = starting_vectors(prepared, model, classifier, data, train.seed)
    if group.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
    log = Logbook(run_dir, quiet or not group.is_main, enabled=group.is_main)
    for line in prepared.lines + ([session.note] if session.note else []):
        log.say(line)
    if classifier.lm_finetune > 0 and not resume:
        source = finetune_language_model(configs, prepared, session, log, source, quiet)
    elif classifier.lm_finetune > 0 and classifier.ensemble > 1:  # members yet to start
        source = checkpoint.load(run_dir / FOLDER)
    if classifier.ensemble > 1:
        finished = train_members(configs, prepared, session, log, source, describe)
    else:
        finished = _train_one(configs, prepared, session, log, source, resume)
    if finished and group.is_main:
        final_report(run_dir, prepared, classifier, device, log.say)
    close_run(session)
    return run_dir


def _train_one(configs, prepared, session: Session, log, source, resume) -> bool:
    """One classifier: started from ``source``'s encoder, or resumed from ``last/``."""
    task = ClassifierTask(configs, prepared, session.group, source)
    trainer = Trainer(task, configs["train"], session, log)
    if source is not None:
        name = source_name(configs["classifier"])
        log.say(
            f"encoder started from {name} ({len(task.frozen)} tensors; "
            f"{task.unfreezer.describe() if task.unfreezer else 'nothing frozen'}; learning "
            f"rates {configs['classifier'].lr_decay:g}x smaller per layer group down; "
            f"{configs['train'].schedule} schedule)"
        )
    if resume:
        trainer.resume()
    describe(trainer, task, log.say)
    return trainer.run()


def describe(trainer: Trainer, task: ClassifierTask, say) -> None:
    config, classifier = task.configs["model"], task.classifier
    say(
        f"model: {'bi' if classifier.bidirectional else ''}{config.cell.upper()} "
        f"{config.num_layers}x{config.hidden_size}, embedding {config.embedding_size}, "
        f"{classifier.pooling} pooling, dropout {config.dropout}, "
        f"{count_parameters(trainer.model):,} parameters on {trainer.device}; batch "
        f"{task.data.batch_size}; class weights {classifier.class_weight}, sampler "
        f"{classifier.sampler}; plan: {trainer.plan.describe()}"
    )


def final_report(run_dir: Path, prepared: Prepared, classifier, device, say) -> dict:
    """The best model on the validation split, beside the baselines; with ``--blend tfidf``
    the blend weight is chosen here and the TF-IDF model saved into ``best/``."""
    bundle = checkpoint.load(run_dir, device)
    classes = classifier.classes
    probabilities = predict_probabilities(bundle.model, prepared.val.ids, device)
    true = [classes[i] for i in prepared.val.labels]
    train_labels = [classes[i] for i in prepared.train.labels]
    sample = baseline_rows(len(train_labels))
    linear = fit_linear(
        [prepared.train.texts[i] for i in sample],
        [train_labels[i] for i in sample],
        classes,
        classifier.class_weight,
    )
    linear_probabilities = linear.probabilities(prepared.val.texts)
    baselines = {
        "majority": majority_baseline(train_labels, true, classes),
        "tfidf_logreg": scores(true, names(linear_probabilities, classes), classes),
    }
    report = scores(true, names(probabilities, classes), classes)
    if classifier.blend == "tfidf":
        linear.blend_weight, _ = choose_weight(
            probabilities, linear_probabilities, prepared.val.labels
        )
        linear.save(bundle.path)
        probabilities = blend(probabilities, linear_probabilities, linear.blend_weight)
        report = {
            **scores(true, names(probabilities, classes), classes),
            "rnn_alone": report,
            "blend_weight": linear.blend_weight,
        }
    say(
        format_report(
            report,
            "validation split, best checkpoint"
            + (" blended with TF-IDF" if "rnn_alone" in report else ""),
        )
    )
    say(format_baselines(report, baselines))
    if classifier.group_by:
        report["groups"] = by_group(
            true, names(probabilities, classes), prepared.val.groups, classes
        )
        say(format_groups(report["groups"], classifier.group_by))
    plot_confusion(report, run_dir / "confusion.png", "validation split")
    payload = {"split": "validation", **report, "baselines": baselines}
    atomic_write_text(run_dir / "report.json", json.dumps(payload, indent=2))
    say(f"wrote {run_dir / 'report.json'} and {run_dir / 'confusion.png'}")
    return payload
