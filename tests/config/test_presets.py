"""Presets and config resolution: each kind of run resolves to the configs it did before the
presets moved to config/presets.py (pinned in fixtures/resolved_configs.json, written by the code
of that time), the kind is the one asked for, and a resumed run keeps its saved configs."""

import dataclasses
import json
from pathlib import Path

import pytest

from recur.config import presets
from recur.errors import RecurError
from recur.runs import configs as resolve

PINNED = json.loads((Path(__file__).parents[1] / "fixtures" / "resolved_configs.json").read_text())

KINDS = {
    presets.TEXT: [{"level": "bpe"}, {"level": "bpe", "time": "10m"}],
    presets.WORD: [{"level": "word"}, {"level": "word", "time": "10m", "where": "label=x"}],
    presets.CHARACTER: [{}, {"time": "9m59s"}, {"time": "10m", "steps": 100}, {"time": "bogus"}],
    presets.LONG_BUDGET: [{"time": "10m"}, {"time": "600", "weight_decay": 0.2}],
    presets.CONDITIONAL: [{"condition_column": "genre", "paths": ["{dir}/songs.csv"]}],
    presets.MUSIC: [{"midi": True}, {"corpus": "bach"}, {"paths": ["{dir}/tunes"]}],
    presets.CLASSIFIER: [{"label_column": "genre"}, {"corpus": "kjv-genres"}],
    presets.SERIES: [{"target": "label"}, {"corpus": "parabolas"}, {"target": "a", "lr": 1e-3}],
    presets.FORECAST: [{"forecast": 12}, {"forecast": 6, "hidden_size": 32}],
}


def fill(value, folder):
    return json.loads(json.dumps(value).replace("{dir}", str(folder)))


@pytest.fixture
def folder(tmp_path):
    for name, text in PINNED["files"].items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def as_dicts(configs: dict) -> dict:
    return {section: dataclasses.asdict(config) for section, config in configs.items()}


def config_file(case: dict, folder) -> str | None:
    if "config" not in case:
        return None
    path = folder / "config.json"
    path.write_text(json.dumps(case["config"]))
    return str(path)


@pytest.mark.parametrize("case", PINNED["cases"], ids=lambda case: json.dumps(case["options"]))
def test_new_runs_resolve_to_the_pinned_configs(case, folder):
    options, path = fill(case["options"], folder), config_file(case, folder)
    if "error" in case:
        with pytest.raises(RecurError) as error:
            resolve.train_configs(options, path)
        assert str(error.value) == fill(case["error"], folder)
        return
    kind, configs = resolve.train_configs(options, path)
    assert as_dicts(configs) == fill(case["configs"], folder)
    assert kind in presets.PRESETS


@pytest.mark.parametrize("case", PINNED["resumes"], ids=lambda case: json.dumps(case["options"]))
def test_resumed_runs_keep_their_saved_configs(case, folder):
    (folder / "run" / "last").mkdir(parents=True)
    saved = PINNED["saved"][case["saved"]]
    (folder / "run" / "last" / "config.json").write_text(json.dumps(saved))
    if "error" in case:
        with pytest.raises(RecurError) as error:
            resolve.train_configs(dict(case["options"]), resume=str(folder / "run"))
        assert str(error.value) == case["error"]
        return
    kind, configs = resolve.train_configs(dict(case["options"]), resume=str(folder / "run"))
    assert as_dicts(configs) == case["configs"]
    assert kind == (presets.CLASSIFIER if case["saved"] == "classifier" else presets.CHARACTER)


@pytest.mark.parametrize("kind, options", [(k, o) for k, cases in KINDS.items() for o in cases])
def test_options_ask_for_their_kind_and_get_its_preset(kind, options, folder):
    found, configs = resolve.train_configs(fill(options, folder))
    assert found == kind
    values = {k: v for config in configs.values() for k, v in dataclasses.asdict(config).items()}
    chosen = {k: v for k, v in presets.PRESETS[kind].items() if k not in options}
    assert {k: values[k] for k in chosen} == chosen


def test_flags_beat_the_config_file_which_beats_the_preset(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model": {"num_layers": 4, "hidden_size": 100}}))
    kind, configs = resolve.train_configs({"time": "10m", "hidden_size": 64}, str(path))
    assert kind == presets.LONG_BUDGET
    assert (configs["model"].num_layers, configs["model"].hidden_size) == (4, 64)
    assert configs["train"].weight_decay == presets.LONG_BUDGET_DEFAULTS["weight_decay"]


def test_a_changed_preset_is_what_runs_get(monkeypatch):
    monkeypatch.setitem(presets.CLASSIFIER_DEFAULTS, "num_layers", 5)
    assert resolve.train_configs({"label_column": "y"})[1]["model"].num_layers == 5


def test_a_bad_config_file_is_one_line(tmp_path):
    with pytest.raises(RecurError, match="--config"):
        resolve.train_configs({}, str(tmp_path / "missing.json"))


def test_a_series_run_resumes_as_its_kind(tmp_path):
    (tmp_path / "last").mkdir()
    configs = resolve.train_configs({"forecast": 3})[1]
    saved = {"kind": "series", **{name: dataclasses.asdict(c) for name, c in configs.items()}}
    (tmp_path / "last" / "config.json").write_text(json.dumps(saved))
    kind, resumed = resolve.train_configs({"time": "1m"}, resume=str(tmp_path))
    assert kind == presets.FORECAST and resumed["series"].forecast == 3
    with pytest.raises(RecurError, match="--season 4 conflicts"):
        resolve.train_configs({"season": 4}, resume=str(tmp_path))
    with pytest.raises(RecurError, match="for numeric sequences"):
        resolve.train_configs({"season": 4})


def test_word_level_gets_the_word_preset_unless_told_otherwise():
    kind, configs = resolve.train_configs({"level": "word", "time": "10m", "dropout": 0.1})
    model, train = configs["model"], configs["train"]
    assert kind == presets.WORD
    assert (model.cell, model.hidden_size, model.locked_dropout) == ("lstm", 400, True)
    assert model.dropout == 0.1  # a flag beats the preset
    assert train.lr == presets.WORD_DEFAULTS["lr"] and configs["data"].seq_length == 35
    conditional = resolve.train_configs({"level": "word", "condition_column": "genre"})
    assert conditional[0] == presets.CONDITIONAL and conditional[1]["model"].cell == "gru"
    assert resolve.train_configs({"level": "char"})[1]["model"].weight_drop == 0
