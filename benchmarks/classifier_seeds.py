"""Classifier settings compared over seeds on a test file: single models and their ensemble.

    python -m benchmarks.classifier_seeds ag_news --seeds 0,1,2 lowercase=true lr=6e-3 \\
        word_dropout=0.3 [embedding_init=random average_epochs=0 ...]

For each seed, trains one classifier through ``recur.train`` (``--seed`` also draws the
validation split), scores its ``best/`` model on the test file (accuracy and macro-F1), then
scores the mean of the seeds' probabilities. KEY=VALUE options go
to ``recur.train`` as they are (JSON values: true, 6e-3, "text"). Needs ../shared/data/derived
and skips, with a message, without it.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "derived"
SETS = {
    "lyrics3": ("lyrics3_train.csv", "lyrics3_test.csv", "lyrics", "genre"),
    "ag_news": ("ag_news_train2000.csv", "ag_news_test.csv", "title,description", "topic"),
    "clickbait": ("clickbait_train.csv", "clickbait_test.csv", "headline", "label"),
}


def parse_options(pairs: list[str]) -> dict:
    options = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def test_rows(path: Path, text_column: str, label_column: str) -> tuple[list, list]:
    csv.field_size_limit(1 << 30)
    rows = list(csv.DictReader(open(path, encoding="utf-8", newline="")))
    columns = text_column.split(",")
    return ["\n".join(row[c] for c in columns) for row in rows], [row[label_column] for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(SETS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("options", nargs="*", help="KEY=VALUE options of recur.train")
    args = parser.parse_intermixed_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent")
        return
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score

    import recur

    train_file, test_file, text_column, label_column = SETS[args.name]
    texts, labels = test_rows(DATA / test_file, text_column, label_column)
    options = {"threads": 2, **parse_options(args.options)}
    probabilities, lines = [], []
    for seed in [int(s) for s in args.seeds.split(",")]:
        with tempfile.TemporaryDirectory() as run:
            model = recur.train(
                str(DATA / train_file),
                text_column=text_column,
                label_column=label_column,
                out=f"{run}/run",
                quiet=True,
                seed=seed,
                **options,
            )
            probabilities.append(model.probabilities(texts))
            classes = model.classes
        predicted = [classes[i] for i in probabilities[-1].argmax(axis=1)]
        lines.append(
            (accuracy_score(labels, predicted), f1_score(labels, predicted, average="macro"))
        )
        print(f"seed {seed}: accuracy {lines[-1][0]:.4f}, macro-F1 {lines[-1][1]:.4f}", flush=True)
    mean = [classes[i] for i in np.mean(probabilities, axis=0).argmax(axis=1)]
    print(
        f"{args.name} {' '.join(args.options)}: mean of single models accuracy "
        f"{statistics.mean(a for a, _ in lines):.4f}, macro-F1 "
        f"{statistics.mean(f for _, f in lines):.4f}; ensemble of {len(lines)} accuracy "
        f"{accuracy_score(labels, mean):.4f}, macro-F1 "
        f"{f1_score(labels, mean, average='macro'):.4f}"
    )


if __name__ == "__main__":
    sys.exit(main())
