"""Big classifier tables prepared on disk give the rows, split, tokenizer, ids and summary of
the in-memory path; the TF-IDF baseline samples its rows and predicts in batches."""

import csv
import random

import numpy as np
import pytest

from recur.classify import big_tables, linear
from recur.classify.fit import prepare
from recur.config.classifier_options import ClassifierConfig
from recur.config.options import DataConfig

WORDS = "love night road fire heart dream rain gone home baby truck beer blood steel".split()


@pytest.fixture
def table(tmp_path):
    rng = random.Random(0)
    path = tmp_path / "songs.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["genre", "lyrics", "year"])
        for i in range(90):
            genre = rng.choice(["pop", "metal", "country"]) if i % 13 else "nan"
            text = " ".join(rng.choices(WORDS, k=rng.randint(1, 30))) if i % 17 else "  "
            writer.writerow([genre, text.replace(" ", "\n", 1), str(2000 + i % 3)])
        writer.writerow(["rare", "one row only", "2000"])
    return path


@pytest.mark.parametrize("level", ["word", "char"])
def test_big_table_matches_the_in_memory_path(table, tmp_path, monkeypatch, level):
    def run(folder):
        data = DataConfig(paths=[str(table)], text_column="lyrics", level=level)
        classifier = ClassifierConfig(
            label_column="genre", group_by="year", max_tokens=12, newlines="space"
        )
        return prepare(data, classifier, 3, folder=folder), classifier

    memory, memory_config = run(None)
    monkeypatch.setattr(big_tables, "BIG_INPUT_BYTES", 0)
    disk, disk_config = run(tmp_path / "cache")
    assert disk.lines[:-1] == memory.lines and disk.lines[-1].startswith("data read")
    assert disk_config.classes == memory_config.classes
    assert disk.tokenizer.to_dict() == memory.tokenizer.to_dict()
    for a, b in ((disk.train, memory.train), (disk.val, memory.val)):
        assert isinstance(a.ids, big_tables.Ragged)
        assert len(a.ids) == len(b.ids) and all(np.array_equal(x, y) for x, y in zip(a.ids, b.ids))
        assert np.array_equal(a.labels, b.labels) and list(a.texts) == list(b.texts)
        assert a.groups == b.groups and np.array_equal(a.lengths, b.lengths)


def test_baseline_samples_rows_and_predicts_in_batches(monkeypatch):
    pytest.importorskip("sklearn")
    monkeypatch.setattr(linear, "MAX_ROWS", 50)
    monkeypatch.setattr(linear, "BATCH_ROWS", 7)
    rows = linear.baseline_rows(80)
    assert len(rows) == 50 and list(rows) == sorted(set(rows.tolist()))
    assert list(linear.baseline_rows(30)) == list(range(30))
    texts = [f"{'red' if i % 2 else 'blue'} word {i}" for i in range(40)]
    labels = ["r" if i % 2 else "b" for i in range(40)]
    model = linear.fit_linear(texts, labels, ["b", "r"])
    batched = model.probabilities(texts)
    monkeypatch.setattr(linear, "BATCH_ROWS", 1000)
    assert np.allclose(batched, model.probabilities(texts))
    assert (batched.argmax(1) == np.array([int(label == "r") for label in labels])).all()
