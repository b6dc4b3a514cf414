"""Text classifiers: the model's padding handling, preprocessing rules, splits, training, reports,
predictions, resume, --init-from, and the promised one-line errors."""

import csv
import json
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

import recur
from recur.classify.batches import bucket_batches, drop_words, epoch_order, stratified_split
from recur.classify.preprocess import Preprocessor, detect_language
from recur.config.options import ClassifierConfig, ModelConfig
from recur.errors import RecurError
from recur.models.classifier import build_classifier
from tests.conftest import ONE_THREAD

TINY = dict(
    hidden_size=16,
    embedding_size=8,
    batch_size=8,
    threads=1,
    lr=2e-2,
    warmup_steps=1,
    seed=0,
    quiet=True,
)
TOPICS = {
    "sport": "ball goal team match score win coach league".split(),
    "food": "bread soup cook taste salt dinner oven recipe".split(),
}


def write_csv(path, rows, header=("label", "text", "year")):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def topic_rows(count=80, seed=0):
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        label = "sport" if i % 2 else "food"
        words = [rng.choice(TOPICS[label]) for _ in range(rng.randint(3, 12))]
        rows.append((label, " ".join(words), str(1990 + i % 20)))
    return rows


@pytest.mark.parametrize("pooling", ["max", "mean", "last", "attention", "concat"])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_padding_never_changes_the_result(pooling, bidirectional):
    torch.manual_seed(0)
    model = build_classifier(
        ModelConfig(cell="lstm", num_layers=2, hidden_size=8, embedding_size=4, vocab_size=20),
        ClassifierConfig(classes=["a", "b"], pooling=pooling, bidirectional=bidirectional),
    ).eval()
    ids, lengths = torch.randint(1, 20, (3, 7)), torch.tensor([7, 4, 2])
    ids[1, 4:], ids[2, 2:] = 0, 0
    batched = model(ids, lengths)
    alone = torch.cat([model(ids[i : i + 1, : lengths[i]], lengths[i : i + 1]) for i in range(3)])
    assert torch.allclose(batched, alone, atol=1e-6)
    other = ids.clone()
    other[1, 4:], other[2, 2:] = 5, 9  # whatever sits in the padding is ignored
    assert torch.allclose(model(other, lengths), batched, atol=1e-6)


def test_stratified_split_keeps_shares_and_reports_tiny_classes():
    labels = ["a"] * 90 + ["b"] * 9 + ["c"]
    train, val, too_small = stratified_split(labels, 0.1, seed=0)
    assert sorted(train + val) == list(range(100))
    assert [labels[i] for i in val].count("a") == 9 and [labels[i] for i in val].count("b") == 1
    assert too_small == {"c": 1} and 99 in train
    assert stratified_split(labels, 0.1, seed=0) == (train, val, too_small)


def test_balanced_sampler_and_buckets():
    labels = np.array([0] * 95 + [1] * 5)
    drawn = labels[epoch_order(labels, "balanced", seed=0, epoch=0)]
    assert 30 < drawn.sum() < 70  # about half from the rare class
    lengths = np.arange(100)[::-1] % 37
    batches = bucket_batches(np.arange(100), lengths, 10, seed=0, epoch=0)
    assert sorted(np.concatenate(batches).tolist()) == list(range(100))
    assert all(np.all(np.diff(lengths[b]) >= 0) for b in batches)  # sorted inside a batch


def test_preprocessing_rules():
    rules = Preprocessor(
        ClassifierConfig(
            language="en", drop_text="instrumental,n/a", max_tokens=4, truncate="head_tail"
        ),
        lowercase=True,
    )
    assert rules.drop_reason("  Instrumental ") == "placeholder"
    assert rules.drop_reason("[instrumental]") == "placeholder"
    assert rules.drop_reason("yo no sé lo que quiero pero quiero que tú estés conmigo") == "not en"
    assert rules.drop_reason("la la la la la la la la and i love you so") is None
    assert rules.drop_reason("\n ") == "empty"
    assert rules.clean("Hello\nWorld") == "hello world"
    assert rules.cut(np.arange(10)).tolist() == [0, 1, 8, 9]
    assert (
        detect_language("je ne sais pas ce que je veux mais je veux que tu sois avec moi") == "fr"
    )
    keep = Preprocessor(ClassifierConfig(newlines="keep", max_tokens=3), lowercase=False)
    assert keep.clean("A\nB") == "A\nB" and keep.cut(np.arange(10)).tolist() == [0, 1, 2]


def test_train_report_predict_and_evaluate(tmp_path, capsys):
    rows = topic_rows(80) + [
        ("food", "Instrumental", "2001"),
        ("", "ball goal", "2002"),
        ("rare", "ball bread", "2003"),
    ]
    data = write_csv(tmp_path / "train.csv", rows)
    model = recur.train(
        data,
        text_column="text",
        label_column="label",
        epochs=8,
        out=str(tmp_path / "run"),
        group_by="year",
        **TINY,
    )
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["macro_f1"] == 1.0 and set(report["baselines"]) == {"majority", "tfidf_logreg"}
    assert (tmp_path / "run" / "confusion.png").stat().st_size > 1000
    assert model.classes == ["food", "sport"]  # "rare" (1 row) dropped
    assert model.predict(["soup oven salt", "goal team coach"]) == ["food", "sport"]
    # "n/a" is no placeholder (kept, counted); three food words outweigh its three <unk> tokens
    # (one, "bread n/a", was a coin flip: p(food) 0.51 for an LSTM, 0.09 for a GRU)
    test = write_csv(
        tmp_path / "test.csv", topic_rows(20, seed=1) + [("food", "bread soup oven n/a", "")]
    )
    result = model.evaluate(str(test), group_by="year")
    assert result["accuracy"] == 1.0 and result["examples"] == 21
    assert result["baselines"]["tfidf_logreg"]["examples"] == 21
    assert set(result["groups"]) == {"1990s", "2000s", "(empty)"}
    out = tmp_path / "predictions.csv"
    summary = model.predict_file(str(tmp_path / "train.csv"), str(out))
    written = list(csv.DictReader(open(out, encoding="utf-8")))
    assert summary["rows"] == len(rows) == len(written)
    assert written[80]["dropped"] == "placeholder" and written[80]["predicted"] == ""
    assert written[0]["year"] == "1990" and float(written[0]["p_food"]) > 0.5


def test_resume_continues_exactly(tmp_path):
    data = write_csv(tmp_path / "train.csv", topic_rows(60))
    options = dict(text_column="text", label_column="label", epochs=3, **TINY)
    straight = recur.train(data, out=str(tmp_path / "a"), **options)
    recur.train(data, out=str(tmp_path / "b"), stop_after=11, **options)
    resumed = recur.train(resume=str(tmp_path / "b"), quiet=True)
    for folder in ("last", "best"):  # best/: the mean of the last 3 epochs' weights
        for name, value in recur.load(tmp_path / "a" / folder).bundle.model.state_dict().items():
            assert torch.equal(
                value, recur.load(tmp_path / "b" / folder).bundle.model.state_dict()[name]
            )
    assert resumed.classes == straight.classes


def test_best_is_the_mean_of_the_last_epochs(tmp_path):
    data = write_csv(tmp_path / "train.csv", topic_rows(60))  # 54 training rows: 7 steps
    options = dict(text_column="text", label_column="label", epochs=3, **TINY)

    def weights(run, folder):
        return recur.load(tmp_path / run / folder).bundle.model.state_dict()["head.weight"]

    recur.train(data, out=str(tmp_path / "one"), average_epochs=1, **options)
    assert torch.equal(weights("one", "best"), weights("one", "last"))
    recur.train(data, out=str(tmp_path / "two"), average_epochs=2, stop_after=14, **options)
    second_epoch = weights("two", "last")
    recur.train(resume=str(tmp_path / "two"), quiet=True)
    assert torch.allclose(weights("two", "best"), (second_epoch + weights("two", "last")) / 2)
    assert not torch.allclose(second_epoch, weights("two", "last"))


def test_init_from_a_language_model(tmp_path):
    text = tmp_path / "lm.txt"
    text.write_text("\n".join(" ".join(words) for words in TOPICS.values()) * 40)
    lm = recur.train(
        text,
        level="word",
        steps=5,
        seq_length=8,
        samples=0,
        cell="lstm",
        num_layers=1,
        out=str(tmp_path / "lm"),
        **{**TINY, "hidden_size": 16, "embedding_size": 16},
    )
    data = write_csv(tmp_path / "train.csv", topic_rows(40))
    model = recur.train(
        data,
        text_column="text",
        label_column="label",
        epochs=2,
        init_from=str(tmp_path / "lm"),
        freeze_epochs=5,
        out=str(tmp_path / "run"),
        **TINY,
    )
    source = lm.bundle.model.state_dict()
    state = model.bundle.model.state_dict()
    assert torch.equal(state["embedding.weight"], source["embedding.weight"])  # still frozen
    assert torch.equal(state["forward_layers.0.weight_hh_l0"], source["rnn.weight_hh_l0"])
    assert model.bundle.tokenizer.symbols == lm.bundle.tokenizer.symbols


def test_kjv_genres_corpus():
    from recur.data.corpora import get_corpus

    rows = get_corpus("kjv-genres").load()
    genres = {row["genre"] for row in rows}
    assert genres == {
        "law",
        "history",
        "wisdom",
        "prophets",
        "gospels",
        "acts",
        "epistles",
        "apocalyptic",
    }
    assert rows[0]["genre"] == "law" and rows[-1]["genre"] == "apocalyptic"


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "recur", *args], capture_output=True, text=True, env=ONE_THREAD
    )


def test_cli_classifier_end_to_end_and_errors(tmp_path):
    data = write_csv(tmp_path / "train.csv", topic_rows(40))
    run = tmp_path / "run"
    done = run_cli(
        "train",
        str(data),
        "--text-column",
        "text",
        "--label-column",
        "label",
        "--epochs",
        "2",
        "--hidden-size",
        "8",
        "--embedding-size",
        "8",
        "--threads",
        "1",
        "--out",
        str(run),
    )
    assert done.returncode == 0, done.stderr
    assert "TF-IDF + logistic regression" in done.stderr and "classes after" in done.stderr
    shown = run_cli("evaluate", str(run), str(data), "--json")
    assert shown.returncode == 0 and "macro_f1" in json.loads(shown.stdout)
    predicted = run_cli("predict", str(run), str(data), "--out", str(tmp_path / "p.csv"))
    assert predicted.returncode == 0 and (tmp_path / "p.csv").exists()
    missing = run_cli("train", str(data), "--label-column", "genre", "--out", str(tmp_path / "x"))
    assert (
        missing.returncode == 1
        and "no column 'genre'; the file has: label, text, year" in missing.stderr
        and "Traceback" not in missing.stderr
    )
    one = write_csv(tmp_path / "one.csv", [("a", "x y z", "1")] * 5)
    single = run_cli(
        "train",
        str(one),
        "--text-column",
        "text",
        "--label-column",
        "label",
        "--out",
        str(tmp_path / "y"),
    )
    assert single.returncode == 1 and "only one class" in single.stderr
    wrong = run_cli("generate", str(run))
    assert wrong.returncode == 1 and "classifier" in wrong.stderr


def test_missing_labels_are_counted(tmp_path):
    from recur.config.options import DataConfig
    from recur.data.labelled import read_examples

    data = write_csv(
        tmp_path / "t.csv", [("a", "x", "1"), ("NaN", "y", "2"), ("", "z", "3"), ("b", "w", "4")]
    )
    examples = read_examples(
        DataConfig(paths=[str(data)], text_column="text"), ClassifierConfig(label_column="label")
    )
    assert examples.labels == ["a", "b"] and examples.missing_labels == 2
    with pytest.raises(RecurError, match="say which column holds the text"):
        read_examples(DataConfig(paths=[str(data)]), ClassifierConfig(label_column="label"))


def test_a_folder_of_class_folders(tmp_path):
    from recur.config.options import DataConfig
    from recur.data.labelled import read_examples

    for label, word in (("pos", "good"), ("neg", "bad")):
        (tmp_path / "data" / label).mkdir(parents=True)
        for i in range(3):
            (tmp_path / "data" / label / f"{i}.txt").write_text(f"{word} {i}\n")
    examples = read_examples(
        DataConfig(paths=[str(tmp_path / "data")]), ClassifierConfig(label_column="label")
    )
    assert sorted(zip(examples.labels, examples.texts))[0] == ("neg", "bad 0\n")
    assert examples.labels.count("pos") == 3


def test_word_dropout_hides_words_not_padding_and_is_seeded():
    ids = torch.full((4, 200), 7)
    ids[:, 150:] = 0  # padding
    ids[:, 0] = 2  # <bos>, a special
    dropped = drop_words(ids, 0.3, 1, 4, seed=1, step=5)  # <unk> 1, words from 4
    assert torch.equal(dropped[:, 150:], ids[:, 150:]) and torch.equal(dropped[:, 0], ids[:, 0])
    share = (dropped[:, 1:150] == 1).float().mean().item()
    assert 0.2 < share < 0.4
    assert torch.equal(drop_words(ids, 0.3, 1, 4, seed=1, step=5), dropped)
    assert not torch.equal(drop_words(ids, 0.3, 1, 4, seed=1, step=6), dropped)
    assert drop_words(ids, 0.0, 1, 4, seed=1, step=5) is ids
    config = ModelConfig(vocab_size=20, hidden_size=8, embedding_size=8, num_layers=1)
    with pytest.raises(RecurError, match="--word-dropout"):
        build_classifier(config, ClassifierConfig(classes=["a", "b"], word_dropout=1.0))
