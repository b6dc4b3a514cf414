"""Classifier reports: accuracy, macro- and weighted-F1, per-class precision / recall / F1 /
support, the confusion matrix (text and PNG), the most-confused pairs, metrics per group, and the
two baselines every report carries (majority class; TF-IDF + logistic regression).

Metrics come from scikit-learn (the classify extra), imported when a report is made, so modules
that import this one stay light. Labels are class names (strings) throughout.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from recur.classify.linear import fit_linear
from recur.extras import pyplot, require


def _sklearn_metrics():
    return require("sklearn.metrics", "classify", "a classifier report")


def scores(true: list, predicted: list, classes: list) -> dict:
    """Every figure of a report, JSON-ready."""
    metrics = _sklearn_metrics()
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        true, predicted, labels=classes, zero_division=0
    )
    matrix = metrics.confusion_matrix(true, predicted, labels=classes).tolist()
    pairs = sorted(
        (
            (matrix[i][j], classes[i], classes[j])
            for i in range(len(classes))
            for j in range(len(classes))
            if i != j and matrix[i][j]
        ),
        reverse=True,
    )
    return {
        "examples": len(true),
        "accuracy": float(metrics.accuracy_score(true, predicted)),
        "macro_f1": float(
            metrics.f1_score(true, predicted, labels=classes, average="macro", zero_division=0)
        ),
        "weighted_f1": float(
            metrics.f1_score(true, predicted, labels=classes, average="weighted", zero_division=0)
        ),
        "per_class": {
            c: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for c, p, r, f, s in zip(classes, precision, recall, f1, support)
        },
        "confusion": {"classes": classes, "matrix": matrix},
        "most_confused": [{"true": t, "predicted": p, "count": n} for n, t, p in pairs[:5]],
    }


def majority_baseline(train_labels: list, true: list, classes: list) -> dict:
    majority = Counter(train_labels).most_common(1)[0][0]
    return scores(true, [majority] * len(true), classes)


def tfidf_baseline(
    train_texts: list,
    train_labels: list,
    texts: list,
    true: list,
    classes: list,
    class_weight: str = "balanced",
) -> dict:
    """TF-IDF + logistic regression (linear.py) fitted on the classifier's own training split
    with the classifier's ``--class-weight``, scored on ``texts``."""
    _sklearn_metrics()
    model = fit_linear(train_texts, train_labels, classes, class_weight)
    return scores(true, names(model.probabilities(texts), classes), classes)


def names(probabilities, classes: list) -> list:
    """The class name of each row's highest probability."""
    return [classes[i] for i in probabilities.argmax(axis=1)]


def group_key(value) -> str:
    """Years (four digits) fall into decades: 1987 -> 1980s; other values stay as they are."""
    text = str(value).strip()
    if len(text) >= 4 and text[:4].isdigit() and 1000 <= int(text[:4]) <= 2999:
        return f"{text[:3]}0s"
    return text or "(empty)"


def by_group(true: list, predicted: list, groups: list, classes: list) -> dict:
    """{group: accuracy, macro-F1, examples and the class counts} in group order."""
    metrics = _sklearn_metrics()
    keys = [group_key(g) for g in groups]
    result = {}
    for key in sorted(set(keys)):
        rows = [i for i, k in enumerate(keys) if k == key]
        t, p = [true[i] for i in rows], [predicted[i] for i in rows]
        present = [c for c in classes if c in set(t)]
        result[key] = {
            "examples": len(rows),
            "accuracy": float(metrics.accuracy_score(t, p)),
            "macro_f1": float(
                metrics.f1_score(t, p, labels=present, average="macro", zero_division=0)
            ),
            "classes": dict(Counter(t).most_common()),
        }
    return result


def format_report(report: dict, title: str) -> str:
    """The text a user reads: headline figures, per-class table, confusion matrix, pairs."""
    lines = [
        f"{title}: {report['examples']:,} examples, accuracy {report['accuracy']:.4f}, "
        f"macro-F1 {report['macro_f1']:.4f}, weighted-F1 {report['weighted_f1']:.4f}"
    ]
    classes = report["confusion"]["classes"]
    width = max(8, *(len(c) for c in classes))
    lines.append(f"  {'class':<{width}} precision  recall      f1  support")
    for name, row in report["per_class"].items():
        lines.append(
            f"  {name:<{width}} {row['precision']:9.3f} {row['recall']:7.3f} "
            f"{row['f1']:7.3f} {row['support']:8,}"
        )
    cell = (
        max(
            5,
            *(len(str(n)) for row in report["confusion"]["matrix"] for n in row),
            *(min(len(c), 10) for c in classes),
        )
        + 1
    )
    short = [c[: cell - 1] for c in classes]
    lines.append("  confusion (rows: true, columns: predicted)")
    lines.append(f"  {'':<{width}}" + "".join(f"{c:>{cell}}" for c in short))
    for name, row in zip(classes, report["confusion"]["matrix"]):
        lines.append(f"  {name:<{width}}" + "".join(f"{n:>{cell}}" for n in row))
    if report["most_confused"]:
        lines.append(
            "  most confused: "
            + "; ".join(
                f"{p['true']} -> {p['predicted']} ({p['count']})" for p in report["most_confused"]
            )
        )
    return "\n".join(lines)


def format_baselines(report: dict, baselines: dict) -> str:
    lines = ["  same split, for comparison:"]
    for name, label in (
        ("majority", "majority class"),
        ("tfidf_logreg", "TF-IDF + logistic regression"),
    ):
        if name in baselines:
            b = baselines[name]
            lines.append(
                f"    {label:<36} accuracy {b['accuracy']:.4f}, macro-F1 {b['macro_f1']:.4f}"
            )
    alone = report.get("rnn_alone", report)
    lines.append(
        f"    {'this RNN alone' if 'rnn_alone' in report else 'this RNN':<36} accuracy "
        f"{alone['accuracy']:.4f}, macro-F1 {alone['macro_f1']:.4f}"
    )
    if "rnn_alone" in report:
        label = f"RNN + TF-IDF blend (weight {report['blend_weight']:g})"
        lines.append(
            f"    {label:<36} accuracy {report['accuracy']:.4f}, macro-F1 "
            f"{report['macro_f1']:.4f}   <- what this run predicts"
        )
    return "\n".join(lines)


def format_groups(groups: dict, column: str) -> str:
    lines = [f"  per {column}:"]
    for key, row in groups.items():
        lines.append(
            f"    {key:<12} {row['examples']:6,} examples  accuracy {row['accuracy']:.3f}"
            f"  macro-F1 {row['macro_f1']:.3f}"
        )
    return "\n".join(lines)


def plot_confusion(report: dict, path: Path, title: str) -> Path:
    """The confusion matrix as a PNG, each row normalised to the true class's support."""
    plt = pyplot()
    classes = report["confusion"]["classes"]
    matrix = np.array(report["confusion"]["matrix"], dtype=float)
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = 2.5 + 0.6 * len(classes)
    figure, axes = plt.subplots(figsize=(size + 1, size))
    image = axes.imshow(share, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    axes.set_yticks(range(len(classes)), classes)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    for i in range(len(classes)):
        for j in range(len(classes)):
            axes.text(
                j,
                i,
                f"{int(matrix[i, j])}",
                ha="center",
                va="center",
                color="white" if share[i, j] > 0.5 else "black",
                fontsize=8,
            )
    figure.colorbar(image, ax=axes, fraction=0.046, label="share of the true class")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
