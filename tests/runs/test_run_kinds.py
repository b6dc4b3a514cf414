"""Every run directory records its kind; older ones are recognised; classifiers get the one
trainer's --precision and --eval-every."""

import json

import pytest
import torch

import recur
from recur.errors import RecurError
from recur.runs.checkpoint import load
from recur.runs.kinds import kind_of
from recur.runs.logbook import read_metrics
from tests.classify.test_classifier import TINY, topic_rows, write_csv
from tests.conftest import TINY_OPTIONS


def saved_config(run):
    return json.loads((run / "last" / "config.json").read_text())


def test_language_model_and_classifier_runs_record_their_kind(corpus_file, tmp_path):
    recur.train(corpus_file, out=str(tmp_path / "lm"), quiet=True, **{**TINY_OPTIONS, "steps": 3})
    assert saved_config(tmp_path / "lm")["kind"] == "lm"
    assert load(tmp_path / "lm").kind == "lm"
    data = write_csv(tmp_path / "train.csv", topic_rows(40))
    recur.train(
        data, text_column="text", label_column="label", epochs=1, out=str(tmp_path / "c"), **TINY
    )
    config = saved_config(tmp_path / "c")
    assert config["kind"] == "classifier" and config["task"] == "classify"  # old readers too
    assert load(tmp_path / "c").kind == "classifier"


def test_a_music_run_records_its_kind(tmp_path):
    pytest.importorskip("pretty_midi")
    from tests.music.test_midi import scale_song, write_song

    (tmp_path / "songs").mkdir()
    for k in range(3):
        write_song(tmp_path / "songs" / f"song{k}.mid", scale_song(k, count=40))
    model = recur.train(
        tmp_path / "songs", out=str(tmp_path / "run"), quiet=True, **{**TINY_OPTIONS, "steps": 3}
    )
    assert saved_config(tmp_path / "run")["kind"] == "music"
    assert model.kind == "music" and model.is_music


def test_older_runs_without_a_kind_are_recognised():
    assert kind_of({"task": "classify"}).name == "classifier"
    assert kind_of({"model": {}}, "midi").name == "music"
    assert kind_of({"model": {}}, "char").name == "lm"
    assert kind_of({"kind": "music"}).action == "generate"
    with pytest.raises(RecurError, match="does not know"):
        kind_of({"kind": "speech"})


def test_a_classifier_trains_with_bf16_autocast(tmp_path):
    data = write_csv(tmp_path / "train.csv", topic_rows(60))
    model = recur.train(
        data,
        text_column="text",
        label_column="label",
        epochs=3,
        precision="bf16",
        out=str(tmp_path / "run"),
        **TINY,
    )
    assert saved_config(tmp_path / "run")["train"]["precision"] == "bf16"
    assert all(p.dtype == torch.float32 for p in model.bundle.model.parameters())
    losses = [r["step_loss"] for r in read_metrics(tmp_path / "run") if r["kind"] == "train"]
    assert losses and all(loss == loss for loss in losses)  # finite, not NaN
    assert model.predict(["soup oven salt", "goal team coach"]) == ["food", "sport"]


def test_a_classifier_validates_every_n_steps_when_told(tmp_path):
    data = write_csv(tmp_path / "train.csv", topic_rows(60))  # 54 training rows: 7 steps
    options = dict(text_column="text", label_column="label", epochs=2, **TINY)
    recur.train(data, out=str(tmp_path / "steps"), eval_every="3", patience=0, **options)
    evals = [r for r in read_metrics(tmp_path / "steps") if r["kind"] == "eval"]
    assert [r["step"] for r in evals] == [3, 6, 9, 12, 14]  # and once at the end
    recur.train(data, out=str(tmp_path / "auto"), patience=0, **options)
    evals = [r for r in read_metrics(tmp_path / "auto") if r["kind"] == "eval"]
    assert [(r["step"], r["epoch"]) for r in evals] == [(7, 0), (14, 1)]  # once per epoch
