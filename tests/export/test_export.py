"""recur export: trained runs -> ONNX folders that sample and predict as the runs do, through
recur's onnxruntime model and through the dependency-free examples in docs/examples/."""

import csv
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

import recur
from recur.cli import main
from recur.errors import RecurError
from tests.conftest import ONE_THREAD, TINY_OPTIONS, tiny_text
from tests.old_runs import old_runs

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
FIXTURES = old_runs()
PRIME = "the cat"
TOPICS = {
    "sport": "ball goal team match score win coach league the a".split(),
    "food": "bread soup cook taste salt dinner oven recipe the a".split(),
}
# Runs an example as a user would, then proves it imported neither recur nor torch.
NO_RECUR = """
import runpy, sys
sys.argv = {argv!r}
sys.path.insert(0, {examples!r})
runpy.run_path(sys.argv[0], run_name="__main__")
assert "torch" not in sys.modules and "recur" not in sys.modules, "imported recur or torch"
"""


def run_example(name: str, *args) -> str:
    script = NO_RECUR.format(argv=[str(EXAMPLES / name), *map(str, args)], examples=str(EXAMPLES))
    env = {k: v for k, v in ONE_THREAD.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd="/"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def recur_cli(capsys, *argv) -> str:
    capsys.readouterr()
    assert main([str(a) for a in argv]) == 0
    return capsys.readouterr().out


def topic_rows(count: int, seed: int = 0) -> list:
    rng = random.Random(seed)
    return [
        (label, " ".join(rng.choice(TOPICS[label]) for _ in range(rng.randint(2, 9))))
        for label in (("food", "sport")[i % 2] for i in range(count))
    ]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A character and a word-level language model and a classifier, trained briefly."""
    root = tmp_path_factory.mktemp("runs")
    corpus = root / "tiny.txt"
    corpus.write_text(tiny_text(), encoding="utf-8")
    options = {**TINY_OPTIONS, "steps": 30, "quiet": True}
    recur.train(corpus, out=str(root / "char"), **options)
    recur.train(corpus, out=str(root / "word"), level="word", **options)
    table = root / "train.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("label", "text"), *topic_rows(80)])
    recur.train(
        table, out=str(root / "classifier"), text_column="text", label_column="label",
        hidden_size=16, embedding_size=8, batch_size=8, epochs=4, threads=1, blend="none", seed=0,
        quiet=True,
    )  # fmt: skip
    return root


@pytest.mark.parametrize("level", ["char", "word"])
def test_the_reference_example_writes_what_recur_generate_writes(runs, tmp_path, capsys, level):
    run, out = runs / level, tmp_path / "export"
    printed = recur_cli(capsys, "export", run, "--format", "onnx", "--out", out)
    assert "max logit difference" in printed and (out / "model.onnx").is_file()
    assert {p.name for p in out.iterdir()} >= {"tokenizer.json", "config.json", "README.md"}
    greedy = ("--temperature", "0", "--length", "300", "--prime", PRIME)
    expected = recur_cli(capsys, "generate", run, *greedy)
    assert len(expected) > 300 and expected.startswith(PRIME)
    assert run_example("onnx_generate.py", out, "--prime", PRIME, "--length", 300) == expected
    assert recur_cli(capsys, "generate", out, *greedy) == expected
    sampled = ("--temperature", "0.9", "--top-k", "5", "--seed", "7", "-n", "3", "--length", "80")
    assert recur_cli(capsys, "generate", out, *sampled) == recur_cli(
        capsys, "generate", run, *sampled
    )


def test_the_classifier_example_predicts_the_labels_recur_predicts(runs, tmp_path, capsys):
    out, test = tmp_path / "export", tmp_path / "test.csv"
    recur_cli(capsys, "export", runs / "classifier", "--out", out, "--int8")
    recur_cli(capsys, "export", runs / "classifier", "--out", out)  # replaces the folder
    assert json.loads((out / "export.json").read_text())["precision"] == "fp32"
    lines = [text for _, text in topic_rows(40, seed=5)] + ["ball bread", "soup goal"]
    with test.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text",), *[(line,) for line in lines]])
    recur_cli(capsys, "predict", runs / "classifier", test, "--out", tmp_path / "p.csv")
    expected = [row["predicted"] for row in csv.DictReader(open(tmp_path / "p.csv"))]
    assert len(set(expected)) == 2  # both classes occur, so the comparison can fail
    assert run_example("onnx_classify.py", out, test).split() == expected
    assert recur.load(out).predict(lines) == expected  # recur's own onnxruntime classifier


def test_a_conditional_model_exports_its_conditions_as_state(tmp_path, capsys):
    out = tmp_path / "export"
    recur_cli(capsys, "export", FIXTURES / "documents", "--out", out)
    interface = json.loads((out / "export.json").read_text())["inputs"]
    assert [name for name, _, _ in interface] == ["ids", "h", "conditions"]
    for options in (
        ("-n", "3"),
        ("--condition", "genre=metal", "--guidance", "1.5", "-n", "2"),
        ("--beam", "3"),
    ):
        argv = ("--seed", "4", "--length", "60", *options)
        assert recur_cli(capsys, "generate", out, *argv) == recur_cli(
            capsys, "generate", FIXTURES / "documents", *argv
        )


def test_bpe_and_music_runs_sample_as_their_exports_do(runs, tmp_path, capsys):
    corpus = runs / "tiny.txt"
    options = {**TINY_OPTIONS, "steps": 4, "quiet": True, "bpe_vocab_size": 300}
    recur.train(corpus, out=str(tmp_path / "bpe"), level="bpe", **options)
    for run in (tmp_path / "bpe", FIXTURES / "music"):
        out = tmp_path / f"{run.name}-onnx"
        recur_cli(capsys, "export", run, "--out", out)
        sample = dict(length=60, seed=2, num_samples=2, temperature=1.0)
        assert recur.load(out).generate(**sample) == recur.load(run).generate(**sample)


def test_int8_is_smaller_and_reports_its_perplexity(runs, tmp_path, capsys):
    out = tmp_path / "export"
    printed = recur_cli(capsys, "export", runs / "char", "--out", out, "--int8")
    manifest = json.loads((out / "export.json").read_text())
    assert manifest["precision"] == "int8" and "perplexity" in printed
    change = manifest["perplexity"]["int8"] / manifest["perplexity"]["fp32"]
    assert 0.9 < change < 1.1
    assert not (out / "model.fp32.onnx").exists()
    assert len(recur.load(out).generate(PRIME, length=20, temperature=0)[0]) > len(PRIME)


def test_a_graph_that_disagrees_is_never_written(runs, tmp_path):
    from recur.config.export_options import ExportConfig
    from recur.export.folder import export_run

    out = tmp_path / "export"
    with pytest.raises(RecurError, match="disagrees with PyTorch.*nothing was written"):
        export_run(runs / "char", ExportConfig(out=str(out), tolerance=-1.0), say=lambda _: None)
    assert not out.exists() and list(tmp_path.iterdir()) == []
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(RecurError, match="no export folder"):
        export_run(runs / "char", ExportConfig(out=str(tmp_path / "mine")))
    assert (tmp_path / "mine" / "notes.txt").is_file()


def test_a_blended_classifier_is_refused_in_one_line(tmp_path):
    from recur.export.graph import refusal

    (tmp_path / "linear.json").write_text(json.dumps({"blend_weight": 0.4}))
    reason = refusal("classifier", tmp_path)
    assert reason and "--rnn-only" in reason and "\n" not in reason
    assert refusal("classifier", tmp_path, rnn_only=True) is None
    assert refusal("lm", tmp_path) is None


@pytest.mark.parametrize("cell", ["mingru", "minlstm", "mogrifier"])
def test_cells_without_an_onnx_form_are_refused_by_name(cell, tmp_path):
    from recur.export.graph import refusal

    reason = refusal("lm", tmp_path, cell=cell)
    assert reason and f"--cell {cell}" in reason and "\n" not in reason
    assert refusal("lm", tmp_path, cell="gru") is None


def test_without_the_extra_the_command_names_it(monkeypatch, capsys):
    for name in [m for m in sys.modules if m == "onnx" or m.startswith("onnx.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert main(["export", str(FIXTURES / "lm")]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: recur export needs the export extra: pip install 'recur[export]'"
    )
