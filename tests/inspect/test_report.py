"""recur inspect end to end on tiny runs: the HTML is self-contained and holds the findings."""

import json
import re

import pytest

import recur
from recur.cli import main
from recur.config.inspect_options import InspectConfig
from recur.errors import RecurError
from recur.inspect.html import carried_units
from recur.inspect.report import report_html, write_report
from tests.classify.test_classifier import TINY, topic_rows, write_csv
from tests.conftest import TINY_OPTIONS, tiny_text

EXTERNAL = re.compile(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", re.IGNORECASE)


@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inspect-classifier")
    data = write_csv(folder / "train.csv", topic_rows(60))
    recur.train(
        str(data),
        text_column="text",
        label_column="label",
        epochs=4,
        out=str(folder / "run"),
        **TINY,
    )
    return folder / "run"


def test_the_cli_writes_a_self_contained_report(char_run, tmp_path, capsys):
    text = tiny_text(8, seed=3) + 'she said "(no)" 7 times.\n'
    (tmp_path / "text.txt").write_text(text, encoding="utf-8")
    out, data = tmp_path / "report.html", tmp_path / "findings.json"
    argv = ["inspect", str(char_run), str(tmp_path / "text.txt"), "--out", str(out)]
    assert main([*argv, "--json", str(data), "--png", str(tmp_path / "png")]) == 0
    assert "position in line" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert not EXTERNAL.search(page) and "<script src" not in page
    findings = json.loads(data.read_text())
    assert "".join(findings["tokens"]) == text
    assert len(findings["surprise"]) == len(findings["top5"]) == len(text)
    assert all(len(row) == 5 and row[0][1] >= row[-1][1] for row in findings["top5"])
    assert findings["check"]["max_error"] < 1e-4
    features = {entry["feature"] for entry in findings["discovery"]}
    assert {"position in line", "inside quotes", "bracket depth", "digit"} <= features
    best = findings["discovery"][0]["units"][0]["unit"]
    assert best in page and "position in line" in page  # the findings are in the page
    assert set(findings["gates"][0]["gates"]) == {"input", "forget", "output"}
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == [
        "discovery.png",
        "gates.png",
        "surprise.png",
    ]


def test_report_html_serves_the_playground(char_run):
    page = report_html(char_run, "the cat sat on the mat.\n" * 3)
    assert page.startswith("<!doctype html>") and '"activations"' in page
    assert not EXTERNAL.search(page)


def test_long_texts_carry_only_some_units():
    names = [f"{layer}:{state}:{i}" for layer in "01" for state in "hc" for i in range(100)]
    discovered = [{"feature": "digit", "units": [{"unit": "1:c:77", "r": 0.6}]}]
    config = InspectConfig(max_values=100 * 40, units="0:h:99")
    chosen = carried_units(names, 100, discovered, config)
    assert {"1:c:77", "0:h:99"} <= set(chosen) and len(chosen) <= 40
    assert carried_units(names, 1, discovered, config) == names
    with pytest.raises(RecurError, match="--units 0:x:1"):
        carried_units(names, 100, discovered, InspectConfig(units="0:x:1"))


def test_a_classifier_report_explains_the_class(classifier_run, tmp_path):
    out, data = tmp_path / "c.html", tmp_path / "c.json"
    text = "goal team coach ball win score league match goal team"
    argv = ["inspect", str(classifier_run), text, "--out", str(out), "--json", str(data)]
    assert main(argv) == 0
    found = json.loads(data.read_text())["classifier"]
    assert found["class"] == "sport" and found["probabilities"]["sport"] > 0.5
    assert [w["text"] for w in found["words"]] == text.split()
    assert set(found["units"]) == {"food", "sport"} and len(found["units"]["sport"]) == 5
    assert found["deletion"]["count"] == 3
    page = out.read_text(encoding="utf-8")
    assert found["units"]["sport"][0]["unit"] in page and not EXTERNAL.search(page)


def test_an_empty_text_is_a_one_line_error(char_run, tmp_path, capsys):
    (tmp_path / "empty.txt").write_text("")
    assert main(["inspect", str(char_run), str(tmp_path / "empty.txt"), "--out", "x.html"]) == 2
    assert "empty" in capsys.readouterr().err


def test_conditions_change_the_surprise_of_the_same_text(tmp_path):
    data = write_csv(tmp_path / "docs.csv", topic_rows(200))
    options = {**TINY_OPTIONS, "eval_every": "80", "lr": 2e-2}
    recur.train(
        str(data),
        level="word",
        text_column="text",
        condition_column="label",
        steps=80,
        out=str(tmp_path / "run"),
        quiet=True,
        **options,
    )
    text = "goal team coach ball win score league match"
    findings = write_report(tmp_path / "run", text, str(tmp_path / "r.html"))
    by_value = {entry["value"]: entry for entry in findings["conditions"]}
    assert set(by_value) == {"sport", "food"}
    assert by_value["sport"]["mean_surprise"] < by_value["food"]["mean_surprise"] - 0.5
    helped = {word["word"] for word in by_value["sport"]["words"]}
    assert helped <= set(text.split()) and by_value["sport"]["words"][0]["change"] < 0
    assert "sport" in (tmp_path / "r.html").read_text(encoding="utf-8")
