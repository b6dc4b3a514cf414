"""Classifier ensembles (--ensemble N): members with their own seeds, the mean of their
probabilities, exact resume; and the epoch cap a classifier keeps under a time budget."""

import json

import numpy as np
import pytest
import torch

import recur
import recur.api
from recur.classify.ensemble import DONE, member_configs, seconds_used
from recur.classify.labelled import predict_probabilities
from tests.classify.test_classifier import TINY, topic_rows, write_csv


def test_ensemble_predicts_the_mean_of_its_members(tmp_path):
    data = write_csv(tmp_path / "train.csv", topic_rows(60))
    model = recur.train(
        data,
        text_column="text",
        label_column="label",
        epochs=3,
        ensemble=3,
        time="30m",
        out=str(tmp_path / "run"),
        **TINY,
    )
    members = [recur.load(tmp_path / "run" / "members" / str(k)) for k in range(3)]
    assert [m.bundle.config["train"]["seed"] for m in members] == [0, 1, 2]
    # three epochs take seconds of the 600 s shares: what member 0 left goes to 1 and 2
    used = [
        json.loads((tmp_path / "run" / "members" / str(k) / DONE).read_text())["seconds"]
        for k in range(3)
    ]
    shares = [float(m.bundle.config["train"]["time"].rstrip("s")) for m in members]
    assert shares[0] == 600 and shares[1] == pytest.approx((1800 - used[0]) / 2, abs=0.01)
    assert shares[2] == pytest.approx(1800 - used[0] - used[1], abs=0.01)
    weights = [m.bundle.model.head.weight for m in members]
    assert not torch.equal(weights[0], weights[1])  # different seeds
    texts = ["soup oven salt", "goal team coach", "bread ball"]
    ids = [model.preprocessor.cut(model.bundle.tokenizer.encode_array(t)) for t in texts]
    expected = np.mean([predict_probabilities(m.bundle.model, ids, "cpu") for m in members], 0)
    np.testing.assert_allclose(model.probabilities(texts), expected, rtol=1e-5, atol=1e-6)
    assert model.predict(texts[:2]) == ["food", "sport"]
    assert (tmp_path / "run" / "report.json").is_file()
    lines = [json.loads(line) for line in open(tmp_path / "run" / "metrics.jsonl")]
    members = [line["member"] for line in lines if line["kind"] == "eval"]
    assert members == [0, 0, 0, 1, 1, 1, 2, 2, 2]  # three epochs each


def test_ensemble_resumes_exactly(tmp_path):
    data = write_csv(tmp_path / "train.csv", topic_rows(60))
    options = dict(text_column="text", label_column="label", epochs=2, ensemble=2, **TINY)
    recur.train(data, out=str(tmp_path / "a"), **options)
    recur.train(data, out=str(tmp_path / "b"), stop_after=5, **options)  # inside member 0
    members = tmp_path / "b" / "members"
    assert (members / "0" / "last").is_dir() and not (members / "0" / "member.json").exists()
    assert not (members / "1").exists() and not (tmp_path / "b" / "best").exists()
    recur.train(resume=str(tmp_path / "b"), quiet=True)
    straight = recur.load(tmp_path / "a").bundle.model.state_dict()
    resumed = recur.load(tmp_path / "b").bundle.model.state_dict()
    assert straight.keys() == resumed.keys() and any(k.startswith("members.1.") for k in straight)
    for name, value in straight.items():
        assert torch.equal(value, resumed[name]), name


def test_member_configs_split_the_budget():
    configs = recur.api.classifier_configs(
        {"label_column": "y", "time": "10m", "ensemble": 4, "seed": 7}
    )
    member = member_configs(configs, 2, used=300.0)  # members 0 and 1 took their shares
    assert (member["train"].seed, member["train"].time, member["classifier"].ensemble) == (
        9,
        "150s",
        1,
    )
    assert configs["classifier"].ensemble == 4 and configs["train"].seed == 7
    # members 0 and 1 stopped early after 100 s in all: 2 and 3 share the other 500 s
    assert member_configs(configs, 2, used=100.0)["train"].time == "250s"
    # a member before it ran over its share: never less than the even share
    assert member_configs(configs, 2, used=310.0)["train"].time == "150s"


def test_time_a_member_saved_goes_to_the_next(tmp_path):
    members = tmp_path / "members"
    for index, record in enumerate(({"seconds": 40.0}, {})):
        (members / str(index)).mkdir(parents=True)
        (members / str(index) / DONE).write_text(json.dumps(record))
    # the second member recorded no time (an older run): it counts its even share, 150 s
    assert seconds_used(tmp_path, index=2, even_share=150.0) == 190.0


def test_a_time_budget_keeps_the_default_epoch_cap():
    timed = recur.api.classifier_configs({"label_column": "y", "time": "10m"})
    assert (timed["train"].epochs, timed["train"].time) == (10.0, "10m")
    assert recur.api.classifier_configs({"label_column": "y", "steps": 50})["train"].epochs is None
    assert (
        recur.api.classifier_configs({"label_column": "y", "time": "1m", "epochs": 3})[
            "train"
        ].epochs
        == 3
    )


def test_every_member_starts_from_the_language_model(tmp_path):
    text = tmp_path / "lm.txt"
    text.write_text("ball goal team match bread soup cook taste\n" * 40)
    lm = recur.train(
        text,
        level="word",
        steps=3,
        seq_length=8,
        samples=0,
        cell="lstm",
        num_layers=1,
        out=str(tmp_path / "lm"),
        **TINY,
    )
    data = write_csv(tmp_path / "train.csv", topic_rows(40))
    model = recur.train(
        data,
        text_column="text",
        label_column="label",
        epochs=1,
        ensemble=2,
        init_from=str(tmp_path / "lm"),
        freeze_epochs=5,
        out=str(tmp_path / "run"),
        **TINY,
    )
    source = lm.bundle.model.state_dict()["embedding.weight"]
    state = model.bundle.model.state_dict()
    for k in range(2):  # still frozen in both members
        assert torch.equal(state[f"members.{k}.embedding.weight"], source)
    assert not torch.equal(state["members.0.head.weight"], state["members.1.head.weight"])
