"""Big CSV/JSONL inputs of a classifier, prepared without holding their texts in memory.

The same rows, rules, split, tokenizer and ids as ``fit.prepare`` makes in memory, in three
streaming passes over the files (documents.iter_table reads them row by row): pass 1 keeps only
each row's label, group and whether the rules keep it; pass 2 fits the tokenizer on the cleaned
training texts as they stream past; pass 3 writes each kept row's cleaned text and its truncated
token ids to two files in the run's ``cache/`` (data/ragged.py), which the ``LabelledSet``s then
read by position. Used when the inputs exceed ``BIG_INPUT_BYTES``.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import numpy as np

from recur.classify.batches import reported_split, split_summary
from recur.classify.labelled import LabelledSet
from recur.classify.preprocess import Preprocessor, distribution, rare_classes
from recur.data.documents import Documents, iter_table
from recur.data.labelled import MISSING_LABELS, check_columns, row_text, text_columns
from recur.data.ragged import Ragged, RaggedWriter
from recur.data.readers import collect_files
from recur.errors import RecurError
from recur.tokenizers import build_tokenizer

BIG_INPUT_BYTES = 64 << 20  # table inputs above this are prepared on disk


def is_big(data) -> bool:
    """Only CSV/JSONL files (not folders of classes or built-in corpora), above the threshold."""
    if data.corpus or not data.paths or any(Path(p).is_dir() for p in data.paths):
        return False
    files = collect_files(data.paths, data.glob)
    return sum(f.stat().st_size for f in files) > BIG_INPUT_BYTES


def _texts(data, classifier):
    """(label, group, text) of every row of the inputs, streamed; None labels where missing."""
    label = classifier.label_column
    if not label:
        raise RecurError("say which column holds the class with --label-column")
    separator = data.separator.replace("\\n", "\n").replace("\\t", "\t")
    for path in collect_files(data.paths, data.glob):
        columns, rows = iter_table(path, data.encoding, Documents())
        check_columns(path, columns, [label, classifier.group_by])
        names = text_columns(path, columns, data, classifier)
        check_columns(path, columns, names)
        for row in rows:
            value = str(row.get(label) if row.get(label) is not None else "").strip()
            group = row.get(classifier.group_by) if classifier.group_by else None
            yield value, None if group is None else str(group), row_text(row, names, separator)


def prepare_big(data, classifier, seed: int, tokenizer, folder: Path, lines: list) -> tuple:
    """(train LabelledSet, validation LabelledSet, tokenizer, preprocessor) of big inputs."""
    started = time.perf_counter()
    preprocessor = Preprocessor(classifier, data.lowercase)
    kept: list = []
    labels: list = []
    groups: list = []
    missing, removed, before = 0, Counter[str](), Counter[str]()
    names: dict = {}
    for number, (label, group, text) in enumerate(_texts(data, classifier)):  # pass 1
        if label.lower() in MISSING_LABELS:
            missing += 1
            continue
        before[label] += 1
        reason = preprocessor.drop_reason(text)
        if reason:
            removed[reason] += 1
            continue
        kept.append(number)
        labels.append(names.setdefault(label, label))
        groups.append(group)
    _say_rows(lines, before, missing, removed)
    rare = rare_classes(labels, classifier.min_class_count)
    if rare:
        lines.append(
            f"classes with fewer than {classifier.min_class_count} rows dropped "
            "(--min-class-count): " + ", ".join(f"{c} ({n})" for c, n in rare.items())
        )
        chosen = [i for i, label in enumerate(labels) if label not in rare]
        kept, labels, groups = ([x[i] for i in chosen] for x in (kept, labels, groups))
    if len(set(labels)) < 2:
        raise RecurError(
            f"only one class left ({', '.join(set(labels)) or 'none'}): a "
            "classifier needs at least two; check --label-column and the filters"
        )
    lines.append(f"classes after:  {distribution(labels)}")
    train, val = reported_split(labels, data.val_fraction, seed, lines)
    if not classifier.classes:
        classifier.classes = sorted(set(labels))
    unknown = sorted(set(labels) - set(classifier.classes))
    if unknown:
        raise RecurError(f"the data has classes this run never saw: {', '.join(unknown)}")
    position = np.full((kept[-1] + 1) if kept else 0, -1, dtype=np.int64)
    position[kept] = np.arange(len(kept))
    training = np.zeros(len(kept), dtype=bool)
    training[train] = True
    if tokenizer is None:  # pass 2
        tokenizer = build_tokenizer(data.level, data).fit(
            text for index, text in _kept_texts(data, classifier, preprocessor, position)
            if training[index]
        )  # fmt: skip
    lines += split_summary(data.level, seed, train, val, tokenizer)
    ids, texts = _write(data, classifier, preprocessor, position, tokenizer, folder, lines)
    lines.append(f"data read and tokenized in {time.perf_counter() - started:.1f} s (on disk)")
    index = {name: i for i, name in enumerate(classifier.classes)}
    codes = np.array([index[label] for label in labels], dtype=np.int64)

    def labelled(rows):
        return LabelledSet(
            ids.subset(rows), codes[rows], texts.subset(rows), [groups[i] for i in rows]
        )

    return labelled(train), labelled(val), tokenizer, preprocessor


def _say_rows(lines: list, before: Counter, missing: int, removed: Counter) -> None:
    lines.append(
        f"rows: {sum(before.values()) + missing:,} read"
        + (f", {missing:,} with an empty or NaN label dropped" if missing else "")
    )
    shares = ", ".join(
        f"{label} {n:,} ({n / max(sum(before.values()), 1):.0%})"
        for label, n in before.most_common()
    )
    lines.append(f"classes before: {shares}")
    if removed:
        lines.append(
            "preprocessing removed: "
            + ", ".join(f"{n:,} {reason}" for reason, n in removed.most_common())
        )


def _kept_texts(data, classifier, preprocessor, position: np.ndarray):
    """(index among the kept rows, cleaned text) of every kept row, streamed."""
    for number, (_, _, text) in enumerate(_texts(data, classifier)):
        if number < len(position) and position[number] >= 0:
            yield int(position[number]), preprocessor.clean(text)


def _write(data, classifier, preprocessor, position, tokenizer, folder: Path, lines: list):
    """Pass 3: the cleaned texts and their truncated ids on disk; the token-count summary."""
    folder.mkdir(parents=True, exist_ok=True)
    dtype = "<u2" if tokenizer.vocab_size <= 1 << 16 else "<u4"
    id_file = RaggedWriter(folder / "classifier-ids.bin", dtype)
    text_file = RaggedWriter(folder / "classifier-texts.bin", "u1")
    lengths = []
    for _, text in _kept_texts(data, classifier, preprocessor, position):
        ids = tokenizer.encode_array(text)
        lengths.append(len(ids))
        id_file.add(preprocessor.cut(ids))
        text_file.add(text)
    counts = np.array(lengths, dtype=np.int64)
    cut = int((counts > classifier.max_tokens).sum()) if classifier.max_tokens else 0
    lines.append(
        f"tokens per text: median {int(np.median(counts))}, 95th percentile "
        f"{int(np.percentile(counts, 95))}, longest {counts.max():,}"
        + (f"; {cut:,} texts cut to {classifier.max_tokens} ({classifier.truncate})" if cut else "")
    )
    ids = Ragged(folder / "classifier-ids.bin", dtype, id_file.close())
    texts = Ragged(folder / "classifier-texts.bin", "u1", text_file.close(), text=True)
    return ids, texts
