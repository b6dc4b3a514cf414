"""Labelled text for classifiers: CSV / JSONL rows, a folder of class sub-folders, or a built-in
labelled corpus -> ``Examples`` (texts, labels, group values, source rows).

Rows whose label is empty or NaN are counted and dropped here; every other row is kept, because
the preprocessing rules (preprocess.py) report what they remove themselves. A missing column is a
one-line error that lists the columns the file has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from recur.data.corpora import get_corpus
from recur.data.documents import TABLE_SUFFIXES, read_table, split_names
from recur.data.readers import collect_files, read_text
from recur.errors import RecurError

MISSING_LABELS = {"", "nan", "none", "null", "n/a", "na"}


@dataclass
class Examples:
    texts: list = field(default_factory=list)
    labels: list = field(default_factory=list)  # str; None where a file has no labels
    groups: list = field(default_factory=list)  # values of --group-by (None without it)
    sources: list = field(default_factory=list)  # "file:row" of each example
    missing_labels: int = 0

    def add(self, text: str, label, group, source: str) -> None:
        self.texts.append(text)
        self.labels.append(label)
        self.groups.append(group)
        self.sources.append(source)

    def subset(self, indices) -> Examples:
        chosen = Examples(missing_labels=self.missing_labels)
        for i in indices:
            chosen.add(self.texts[i], self.labels[i], self.groups[i], self.sources[i])
        return chosen


def read_examples(data, classifier, need_labels: bool = True) -> Examples:
    """Every labelled example of the run's inputs (``data.paths`` or ``data.corpus``)."""
    if data.corpus:
        return _corpus_examples(data.corpus, classifier)
    examples = Examples()
    for path in data.paths:
        folder = Path(path)
        if folder.is_dir() and not any(next(folder.glob("*" + s), None) for s in TABLE_SUFFIXES):
            _add_folder(examples, Path(path), data)
        else:
            for file in collect_files([path], data.glob):
                _add_table(examples, file, data, classifier, need_labels)
    if not examples.texts:
        raise RecurError("no labelled rows to read: every label was empty")
    return examples


def _add_folder(examples: Examples, folder: Path, data) -> None:
    """One sub-folder per class (its name is the label, whatever --label-column says); every
    file inside is one example of that class."""
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise RecurError(f"{folder}: a classifier folder needs one sub-folder per class")
    for sub in classes:
        for file in collect_files([str(sub)], data.glob):
            examples.add(read_text(file, data.encoding), sub.name, None, str(file))


def text_columns(path, columns: list, data, classifier) -> list:
    """The columns holding the text: --text-column, or the one column left besides the label."""
    names = split_names(data.text_column)
    if not names:
        others = [c for c in columns if c not in (classifier.label_column, classifier.group_by)]
        if len(others) != 1:
            raise RecurError(
                f"{path}: say which column holds the text with --text-column; "
                f"the file has: {', '.join(columns)}"
            )
        names = others
    return names


def check_columns(path, columns: list, wanted: list) -> None:
    for name in wanted:
        if name and name not in columns:
            raise RecurError(f"{path}: no column {name!r}; the file has: {', '.join(columns)}")


def row_text(row: dict, names: list, separator: str) -> str:
    values = ("" if row.get(c) is None else str(row.get(c)) for c in names)
    return separator.join(v for v in values if v.strip())


def _add_table(examples: Examples, path: Path, data, classifier, need_labels: bool) -> None:
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise RecurError(
            f"{path}: a classifier reads .csv or .jsonl files, or a folder with "
            "one sub-folder per class"
        )
    columns, rows, _ = read_table(path, data.encoding)
    label = classifier.label_column
    if need_labels and not label:
        raise RecurError("say which column holds the class with --label-column")
    check_columns(path, columns, [label if need_labels else None, classifier.group_by])
    names = text_columns(path, columns, data, classifier)
    check_columns(path, columns, names)
    separator = data.separator.replace("\\n", "\n").replace("\\t", "\t")
    for number, row in enumerate(rows, 2):  # row 1 is the header
        value = None
        if need_labels:
            value = str(row.get(label) if row.get(label) is not None else "").strip()
            if value.lower() in MISSING_LABELS:
                examples.missing_labels += 1
                continue
        group = row.get(classifier.group_by) if classifier.group_by else None
        examples.add(
            row_text(row, names, separator),
            value,
            None if group is None else str(group),
            f"{path.name}:{number}",
        )


def _corpus_examples(name: str, classifier) -> Examples:
    corpus = get_corpus(name)
    if corpus.kind != "labelled":
        raise RecurError(f"the corpus {name!r} has no labels; labelled corpora: kjv-genres")
    examples = Examples()
    label = classifier.label_column or "genre"
    for number, row in enumerate(corpus.load(), 1):
        if label not in row:
            raise RecurError(
                f"the corpus {name!r} has no column {label!r}; it has: {', '.join(row)}"
            )
        group = str(row[classifier.group_by]) if classifier.group_by in row else None
        examples.add(row["text"], str(row[label]), group, f"{name}:{number}")
    return examples
