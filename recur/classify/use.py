"""Using a trained classifier: ``Classifier`` (what ``recur.load`` returns for a classifier
run) predicts texts, evaluates a labelled file and writes a predictions file.

The run's own preprocessing is applied again (config.json). At evaluation, rows the rules drop
and rows whose class the run never saw are counted and left out of the metrics; the baselines are
refitted on the run's training split when its training data is still where it was. At prediction,
every input row is written back with its other columns; rows the rules would drop are kept and
marked in ``dropped`` instead of being predicted.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from recur.classify.fit import training_split
from recur.classify.labelled import predict_probabilities
from recur.classify.linear import blend, load_linear
from recur.classify.preprocess import Preprocessor
from recur.classify.reports import by_group, majority_baseline, names, scores, tfidf_baseline
from recur.config.options import ClassifierConfig, DataConfig, from_dict
from recur.data.documents import read_table
from recur.data.labelled import check_columns, read_examples, row_text, text_columns
from recur.errors import RecurError


class Classifier:
    """A trained text classifier with its tokenizer, classes and preprocessing."""

    def __init__(self, bundle, device="cpu"):
        self.bundle, self.device = bundle, device
        self.data = from_dict(DataConfig, bundle.config["data"])
        self.classifier = from_dict(ClassifierConfig, bundle.config["classifier"])
        self.classes = self.classifier.classes
        self.preprocessor = Preprocessor(self.classifier, self.data.lowercase)
        self.linear = None  # the TF-IDF partner of --blend tfidf, saved beside best/
        if self.classifier.blend == "tfidf":
            self.linear = load_linear(bundle.path)

    @property
    def path(self) -> Path:
        return self.bundle.path

    is_music = False

    def probabilities(self, texts: list):
        """(N, C) class probabilities of raw texts (cleaned, encoded and cut as in training):
        the RNN's, blended with the run's TF-IDF model when it has one."""
        return self._combine(*self._parts(texts))

    def _parts(self, texts: list) -> tuple:
        """(the RNN's probabilities, the TF-IDF model's or None) of raw texts."""
        cleaned = [self.preprocessor.clean(text) for text in texts]
        ids = [self.preprocessor.cut(self.bundle.tokenizer.encode_array(text)) for text in cleaned]
        rnn = predict_probabilities(self.bundle.model, ids, self.device)
        return rnn, (self.linear.probabilities(cleaned) if self.linear is not None else None)

    def _combine(self, rnn, linear):
        if linear is None or self.linear is None or not self.linear.blend_weight:
            return rnn
        return blend(rnn, linear, self.linear.blend_weight)

    def predict(self, texts: list) -> list[str]:
        return names(self.probabilities(texts), self.classes)

    def evaluate(self, path: str, group_by: str | None = None) -> dict:
        """The full report on a labelled file, beside the baselines on the same rows."""
        classifier = from_dict(
            ClassifierConfig, {**vars(self.classifier), "group_by": group_by or None}
        )
        data = from_dict(DataConfig, {**vars(self.data), "paths": [path], "corpus": None})
        examples = read_examples(data, classifier)
        rows, dropped, unseen = [], 0, 0
        for index, (text, label) in enumerate(zip(examples.texts, examples.labels)):
            if self.preprocessor.drop_reason(text):
                dropped += 1
            elif label not in self.classes:
                unseen += 1
            else:
                rows.append(index)
        if not rows:
            raise RecurError(
                f"{path}: no row left to evaluate ({dropped} dropped by the "
                f"preprocessing, {unseen} with classes the run never saw)"
            )
        texts = [examples.texts[i] for i in rows]
        true = [examples.labels[i] for i in rows]
        rnn, linear = self._parts(texts)
        predicted = names(self._combine(rnn, linear), self.classes)
        report = {
            "file": str(path),
            **scores(true, predicted, self.classes),
            "dropped_by_preprocessing": dropped,
            "unseen_classes": unseen,
            "missing_labels": examples.missing_labels,
        }
        if self.linear is not None:
            report.update(
                rnn_alone=scores(true, names(rnn, self.classes), self.classes),
                blend_weight=self.linear.blend_weight,
            )
        if group_by:
            report["groups"] = by_group(
                true, predicted, [examples.groups[i] for i in rows], self.classes
            )
        baselines = self.baselines(texts, true, linear)
        if baselines:
            report["baselines"] = baselines
        return report

    def baselines(self, texts: list, true: list, linear) -> dict:
        """The majority class (when the training data is still where it was) and TF-IDF +
        logistic regression: the run's own (``linear``: its probabilities of ``texts``), else
        refitted on the training split."""
        train, baselines = self.training_rows(), {}
        if train is not None:
            baselines["majority"] = majority_baseline(train[1], true, self.classes)
        if linear is not None:
            baselines["tfidf_logreg"] = scores(true, names(linear, self.classes), self.classes)
        elif train is not None:
            cleaned = [self.preprocessor.clean(t) for t in texts]
            train_texts, train_labels = train
            baselines["tfidf_logreg"] = tfidf_baseline(
                train_texts, train_labels, cleaned, true, self.classes, self.classifier.class_weight
            )
        return baselines

    def training_rows(self) -> tuple[list, list] | None:
        """The run's training split (texts, labels) rebuilt from its data, or None when that
        data is gone."""
        paths = self.data.paths
        if not self.data.corpus and not all(Path(p).exists() for p in paths):
            return None
        classifier = from_dict(ClassifierConfig, {**vars(self.classifier), "group_by": None})
        texts, labels, _, _, train, _ = training_split(
            self.data, classifier, self.bundle.config["train"]["seed"], []
        )
        return [texts[i] for i in train], [labels[i] for i in train]

    def predict_file(self, path: str, out: str) -> dict:
        """Write ``out`` (CSV, or JSONL by its suffix): the input's columns, ``predicted``,
        ``dropped`` (the rule that would drop the row, else empty) and ``p_<class>``."""
        source = Path(path)
        columns, rows, _ = read_table(source, self.data.encoding)
        text_names = text_columns(source, columns, self.data, self.classifier)
        check_columns(source, columns, text_names)
        separator = self.data.separator.replace("\\n", "\n").replace("\\t", "\t")
        texts = [row_text(row, text_names, separator) for row in rows]
        reasons = [self.preprocessor.drop_reason(t) or "" for t in texts]
        live = [i for i, reason in enumerate(reasons) if not reason]
        added = ["predicted", "dropped"] + [f"p_{c}" for c in self.classes]
        for row, reason in zip(rows, reasons):
            row.update({name: "" for name in added})
            row["dropped"] = reason
        if live:
            self._fill_predictions([rows[i] for i in live], [texts[i] for i in live])
        _write_rows(Path(out), [c for c in columns if c not in added] + added, rows)
        return {
            "rows": len(rows),
            "predicted": len(live),
            "dropped": len(rows) - len(live),
            "out": str(out),
        }

    def _fill_predictions(self, rows: list, texts: list) -> None:
        """Set each row's ``predicted`` and ``p_<class>`` from its text."""
        for row, probabilities in zip(rows, self.probabilities(texts)):
            row["predicted"] = self.classes[int(probabilities.argmax())]
            for c, p in zip(self.classes, probabilities):
                row[f"p_{c}"] = f"{p:.6f}"


def _write_rows(path: Path, columns: list, rows: list) -> None:
    if path.is_dir():
        raise RecurError(f"--out {path}: a folder; give a file name such as predictions.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8", newline="") as handle:
        if path.suffix.lower() == ".jsonl":
            for row in rows:
                handle.write(
                    json.dumps({c: row.get(c, "") for c in columns}, ensure_ascii=False) + "\n"
                )
        else:
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    temporary.replace(path)
