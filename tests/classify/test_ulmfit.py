"""ULMFiT for classifiers started from a language model: the slanted triangular rate, layer
groups unfrozen from the top at the right steps, discriminative learning rates per group,
target-domain language-model fine-tuning (--lm-finetune) and exact resume through all of it."""

import json

import pytest
import torch

import recur
from recur.classify.lm_stage import stage_plans
from recur.classify.transfer import Unfreezer, layer_group, lr_scales
from recur.config.options import ClassifierConfig, ModelConfig, TrainConfig
from recur.models.classifier import build_classifier
from recur.training.optimizer import build_optimizer
from recur.training.schedule import learning_rate, slanted_triangular
from tests.classify.test_classifier import TINY, TOPICS, topic_rows, write_csv


def test_slanted_triangular_rises_fast_then_falls_slowly():
    assert slanted_triangular(0.0, 0.1, 32) == pytest.approx(1 / 32)
    assert slanted_triangular(0.1, 0.1, 32) == pytest.approx(1.0)
    assert slanted_triangular(1.0, 0.1, 32) == pytest.approx(1 / 32)
    assert slanted_triangular(0.05, 0.1, 32) == pytest.approx((1 + 0.5 * 31) / 32)  # linear rise
    assert slanted_triangular(0.55, 0.1, 32) == pytest.approx((1 + 0.5 * 31) / 32)  # linear fall
    values = [slanted_triangular(p / 100, 0.1, 32) for p in range(101)]
    assert values.index(max(values)) == 10
    assert all(a < b for a, b in zip(values[:10], values[1:11]))
    assert all(a > b for a, b in zip(values[10:], values[11:]))
    stlr = TrainConfig(lr=1e-2, schedule="stlr", warmup_steps=50)
    assert learning_rate(stlr, 0, 0.1) == pytest.approx(1e-2)  # no warm-up of its own
    cosine = TrainConfig(lr=1e-2, warmup_steps=1)
    assert learning_rate(cosine, 5, 0.0) == pytest.approx(1e-2)  # auto stays cosine
    assert learning_rate(cosine, 5, 1.0) == pytest.approx(1e-2 * cosine.min_lr_ratio)


def two_layer_classifier():
    config = ModelConfig(vocab_size=30, embedding_size=4, hidden_size=6, num_layers=2)
    return build_classifier(config, ClassifierConfig(classes=["a", "b"]))


def test_layer_groups_and_discriminative_rates():
    model = two_layer_classifier()
    assert layer_group("head.weight", 2) == 0
    assert layer_group("forward_layers.1.weight_hh_l0", 2) == 1
    assert layer_group("backward_layers.0.bias_ih_l0", 2) == 2
    assert layer_group("embedding.weight", 2) == 3
    scales = lr_scales(model, 2, 2.6)
    assert scales["head.bias"] == 1.0
    assert scales["forward_layers.1.weight_ih_l0"] == pytest.approx(1 / 2.6)
    assert scales["forward_layers.0.weight_ih_l0"] == pytest.approx(1 / 2.6**2)
    assert scales["embedding.weight"] == pytest.approx(1 / 2.6**3)
    assert scales["backward_layers.0.weight_ih_l0"] == 1.0  # new weights: the full rate
    optimizer = build_optimizer(model, TrainConfig(), scales)
    by_parameter = {id(p): g["lr_scale"] for g in optimizer.param_groups for p in g["params"]}
    for name, parameter in model.named_parameters():
        assert by_parameter[id(parameter)] == pytest.approx(scales[name])
    assert len(by_parameter) == len(list(model.parameters()))


def trainable(model) -> dict:
    return {name: p.requires_grad for name, p in model.named_parameters()}


def test_groups_unfreeze_from_the_top_one_at_a_time():
    model = two_layer_classifier()
    unfreezer = Unfreezer(model, 2, freeze_steps=5, gradual=True)
    expected = {0: set(), 4: set(), 5: {1}, 9: {1}, 10: {1, 2}, 15: {1, 2, 3}, 99: {1, 2, 3}}
    for step, groups in expected.items():
        unfreezer.apply(step)
        for name, on in trainable(model).items():
            if name.startswith(("head.", "backward_layers.")):
                assert on, (step, name)  # new weights always train
            else:
                assert on == (layer_group(name, 2) in groups), (step, name)
    assert [unfreezer.unfreezes_at(s) for s in (4, 5, 10, 15)] == [[], [1], [2], [3]]
    at_once = Unfreezer(model, 2, freeze_steps=5, gradual=False)
    at_once.apply(4)
    assert not trainable(model)["embedding.weight"]
    at_once.apply(5)
    assert all(trainable(model).values())


@pytest.fixture
def language_model(tmp_path):
    text = tmp_path / "lm.txt"
    text.write_text("\n".join(" ".join(words) for words in TOPICS.values()) * 40)
    recur.train(
        text,
        level="word",
        steps=5,
        seq_length=8,
        samples=0,
        cell="gru",
        num_layers=1,
        out=str(tmp_path / "lm"),
        **{**TINY, "hidden_size": 16, "embedding_size": 16},
    )
    return tmp_path / "lm"


def weights(folder) -> dict:
    return recur.load(folder).bundle.model.state_dict()


def test_gradual_unfreezing_in_training(tmp_path, language_model):
    data = write_csv(tmp_path / "train.csv", topic_rows(60))  # 54 training rows: 7 steps
    source = weights(language_model)
    options = dict(
        text_column="text", label_column="label", epochs=4, init_from=str(language_model), **TINY
    )
    recur.train(data, out=str(tmp_path / "g"), stop_after=14, log_every=1, **options)
    last = weights(tmp_path / "g" / "last")  # after 2 epochs: the layer trains since 1
    assert torch.equal(last["embedding.weight"], source["embedding.weight"])  # not yet
    assert not torch.equal(last["forward_layers.0.weight_hh_l0"], source["rnn.weight_hh_l0"])
    recur.train(data, out=str(tmp_path / "a"), stop_after=14, unfreeze="all", **options)
    assert not torch.equal(
        weights(tmp_path / "a" / "last")["embedding.weight"], source["embedding.weight"]
    )
    metrics = [json.loads(line) for line in (tmp_path / "g" / "metrics.jsonl").open()]
    rates = [m["lr"] for m in metrics if m["kind"] == "train"]
    assert len(rates) == 14 and max(rates) <= TINY["lr"]  # the slanted triangle peaks at --lr
    assert rates.index(max(rates)) == 3  # the first step past 10% of the 28 steps
    saved = json.loads((tmp_path / "g" / "last" / "trainer_state.json").read_text())
    groups = saved["optimizer"]["param_groups"]
    assert {round(g["lr_scale"], 6) for g in groups} == {
        1.0,
        round(1 / 2.6, 6),
        round(1 / 2.6**2, 6),
    }
    for group in groups:
        assert group["lr"] == pytest.approx(groups[0]["lr"] * group["lr_scale"])


def test_lm_finetune_changes_the_encoder_and_the_classifier_starts_from_it(
    tmp_path, language_model
):
    data = write_csv(tmp_path / "train.csv", topic_rows(200))
    options = dict(text_column="text", label_column="label", epochs=2, freeze_epochs=10, **TINY)
    recur.train(
        data, out=str(tmp_path / "ft"), init_from=str(language_model), lm_finetune=0.5, **options
    )
    source, tuned = weights(language_model), weights(tmp_path / "ft" / "lm")
    assert not torch.equal(tuned["embedding.weight"], source["embedding.weight"])
    assert not torch.equal(tuned["rnn.weight_hh_l0"], source["rnn.weight_hh_l0"])
    classifier = weights(tmp_path / "ft" / "last")  # frozen all along: the tuned encoder
    assert torch.equal(classifier["embedding.weight"], tuned["embedding.weight"])
    assert torch.equal(classifier["forward_layers.0.weight_hh_l0"], tuned["rnn.weight_hh_l0"])
    records = [json.loads(line) for line in (tmp_path / "ft" / "metrics.jsonl").open()]
    stage = [r for r in records if r["kind"] == "lm_finetune"]
    assert stage and stage[0]["steps"] >= 1 and stage[0]["from"] == str(language_model)
    files = {p.suffix for p in (tmp_path / "ft").rglob("*") if p.is_file()}
    assert files <= {".json", ".safetensors", ".jsonl", ".png", ".lock", ""}  # never pickled
    # From scratch: a language model of the classifier's shape, then the classifier from it.
    recur.train(data, out=str(tmp_path / "scratch"), lm_finetune=0.5, **options)
    scratch = weights(tmp_path / "scratch" / "lm")
    assert scratch["embedding.weight"].shape[1] == TINY["embedding_size"]
    start = weights(tmp_path / "scratch" / "last")
    assert torch.equal(start["embedding.weight"], scratch["embedding.weight"])
    assert (
        json.loads((tmp_path / "scratch" / "best" / "config.json").read_text())["train"]["schedule"]
        == "stlr"
    )


def test_stage_plans_share_the_budget():
    lm, rest = stage_plans(TrainConfig(time="100s", epochs=10.0, stop_after=3), 0.3)
    assert (lm.time, lm.epochs, lm.stop_after, lm.schedule) == ("30s", 3.0, None, "stlr")
    assert rest.time == "100s"  # what the stage leaves is set after it ran
    lm, rest = stage_plans(TrainConfig(steps=10), 0.3)
    assert (lm.steps, rest.steps) == (3, 7)


def test_resume_is_exact_through_unfreezing(tmp_path, language_model):
    data = write_csv(tmp_path / "train.csv", topic_rows(60))
    options = dict(
        text_column="text",
        label_column="label",
        epochs=4,
        init_from=str(language_model),
        lm_finetune=0.3,
        **TINY,
    )
    recur.train(data, out=str(tmp_path / "a"), **options)
    recur.train(data, out=str(tmp_path / "b"), stop_after=10, **options)  # mid-unfreezing
    recur.train(resume=str(tmp_path / "b"), quiet=True)
    for folder in ("last", "best"):
        straight, resumed = weights(tmp_path / "a" / folder), weights(tmp_path / "b" / folder)
        for name, value in straight.items():
            assert torch.equal(value, resumed[name]), (folder, name)
