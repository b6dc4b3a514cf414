"""Run directories written by the release before the restructuring (tests/old_runs.py, made
by tests/fixtures/make_runs.py) still load and give the same samples, byte for byte: a character
model, a conditional word-document model, a music model (event text) and a classifier."""

import json

import pytest

import recur
from tests.old_runs import old_runs

RUNS = old_runs()
EXPECTED = json.loads((RUNS / "expected.json").read_text())


@pytest.mark.parametrize("name", ["lm", "documents", "music"])
def test_old_language_model_runs_give_the_same_samples(name):
    model = recur.load(RUNS / name)
    for case in EXPECTED[name]:
        assert model.generate(**case["options"]) == case["texts"], case["options"]


def test_old_classifier_run_gives_the_same_predictions():
    classifier = recur.load(RUNS / "classifier")
    case = EXPECTED["classifier"]
    assert classifier.predict(case["texts"]) == case["predictions"]
    probabilities = classifier.probabilities(case["texts"]).round(5).tolist()
    assert probabilities == case["probabilities"]


def test_old_runs_are_recognised_by_kind():
    kinds = {name: recur.load(RUNS / name).bundle.kind for name in ("lm", "documents", "music")}
    assert kinds == {"lm": "lm", "documents": "lm", "music": "music"}
    assert recur.load(RUNS / "classifier").bundle.kind == "classifier"
