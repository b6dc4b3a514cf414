"""The command line end to end on a tiny corpus, in subprocesses as a user would run it."""

import json
import re
import subprocess
import sys

import pytest

from recur import cli
from recur.config import presets
from tests.conftest import ONE_THREAD, TINY_OPTIONS


def recur(*args, check=True):
    result = subprocess.run(
        [sys.executable, "-m", "recur", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=ONE_THREAD,
    )
    if check and result.returncode != 0:
        raise AssertionError(result.stderr)
    return result


def flags(options):
    out = []
    for name, value in options.items():
        out += ["--" + name.replace("_", "-"), str(value)]
    return out


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from tests.conftest import tiny_text

    folder = tmp_path_factory.mktemp("cli")
    (folder / "data").mkdir()
    (folder / "data" / "tiny.txt").write_text(tiny_text())
    recur(
        "train",
        folder / "data",
        "--glob",
        "*.txt",
        "--steps",
        40,
        "--out",
        folder / "run",
        *flags(TINY_OPTIONS),
    )
    return folder


def test_generate_prints_different_samples_in_one_batch_reproducibly(run_dir):
    command = (
        "generate",
        run_dir / "run",
        "-n",
        4,
        "--length",
        60,
        "--seed",
        1,
        "--top-p",
        0.9,
        "--json",
    )
    first = json.loads(recur(*command).stdout)
    assert len(first["samples"]) == 4 and len(set(first["samples"])) == 4
    assert first == json.loads(recur(*command).stdout)


def test_generate_with_prime_and_greedy_text_output(run_dir):
    out = recur(
        "generate",
        run_dir / "run" / "last",
        "--prime",
        "the cat",
        "--length",
        30,
        "--temperature",
        0,
    ).stdout
    assert out.startswith("the cat") and len(out.rstrip("\n")) >= 37 - 1


def test_evaluate_json(run_dir):
    result = json.loads(
        recur("evaluate", run_dir / "run", run_dir / "data" / "tiny.txt", "--json").stdout
    )
    assert set(result) == {
        "loss",
        "perplexity",
        "bits_per_char",
        "tokens",
        "word_perplexity",
        "characters",
        "words",
        "level",
        "unknown_tokens",
    }
    assert result["level"] == "char" and result["unknown_tokens"] == 0
    assert result["loss"] < 2.8


def test_info_shows_the_config(run_dir):
    assert json.loads(recur("info", run_dir / "run").stdout)["model"]["hidden_size"] == 32


@pytest.mark.parametrize(
    "args, message, code",
    [
        (
            ("generate", "RUN", "--prime", "XYZ"),
            "error: the prime contains characters the model never saw: 'X', 'Y', 'Z'",
            1,
        ),
        (("train", "EMPTY", "--steps", 1), "error: {d}/empty.txt: the file is empty", 1),
        (
            ("train", "--resume", "RUN", "--hidden-size", 64),
            "error: --hidden-size 64 conflicts",
            2,
        ),
        (("generate", "NOWHERE"), "error: NOWHERE: not a run directory", 1),
        (("train", "--corpus", "nope"), "error: unknown corpus 'nope'", 2),
    ],
)
def test_bad_input_is_one_line_with_its_status(run_dir, args, message, code):
    """A data or run error exits 1, a usage error (an option, or options that clash) 2."""
    (run_dir / "empty.txt").write_text("")
    names = {"RUN": run_dir / "run", "EMPTY": run_dir / "empty.txt"}
    result = recur(*[names.get(a, a) for a in args], check=False)
    assert result.returncode == code
    assert result.stderr.strip().splitlines()[-1].startswith(message.format(d=run_dir))
    assert "Traceback" not in result.stderr


def test_help_is_fast_and_does_not_import_torch():
    code = (
        "import sys, recur.cli; recur.cli.build_parser().format_help(); "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"
    assert "--hidden-size" in recur("train", "--help").stdout
    for kind in (["--label-column", "genre"], ["--midi"], ["--time", "10m"]):
        code = (
            "import sys, recur.cli\n"
            f"try: recur.cli.main(['train', *{kind!r}, '--help'])\n"
            "except SystemExit: print('torch' in sys.modules, file=sys.stderr)"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.stderr.strip() == "False" and "--num-layers" in result.stdout


def train_help(capsys, monkeypatch, *args) -> str:
    """``recur train ARGS --help`` as one line of text."""
    monkeypatch.setenv("COLUMNS", "400")
    with pytest.raises(SystemExit):
        cli.main(["train", *map(str, args), "--help"])
    return " ".join(capsys.readouterr().out.split())


def shown_default(text: str, flag: str) -> str:
    found = re.search(rf"(?<!\[){flag}(?: [A-Z_]+|, --no-[a-z-]+) .*?\(default: ([^)]*)\)", text)
    assert found, flag
    return found.group(1)


@pytest.mark.parametrize(
    "args, kind, shown",
    [
        (
            (),
            presets.CHARACTER,
            {"--num-layers": "2", "--seq-length": "64", "--weight-decay": "0.2"},
        ),
        (("--level", "bpe"), presets.TEXT, {"--seq-length": "128", "--weight-decay": "0.01"}),
        (
            ("--level", "word"),
            presets.WORD,
            {"--cell": "lstm", "--seq-length": "35", "--weight-drop": "0.1"},
        ),
        (
            ("--label-column", "genre"),
            presets.CLASSIFIER,
            {"--num-layers": "1", "--hidden-size": "256", "--level": "word", "--lr": "0.003"},
        ),
        (("--corpus", "kjv-genres"), presets.CLASSIFIER, {"--epochs": "10.0", "--min-count": "2"}),
        (("--midi",), presets.MUSIC, {"--cell": "lstm", "--hidden-size": "384", "--lr": "0.004"}),
        (("--corpus", "bach"), presets.MUSIC, {"--embedding-size": "384"}),
        (
            ("--time", "10m"),
            presets.LONG_BUDGET,
            {"--num-layers": "3", "--hidden-size": "320", "--weight-decay": "0.8"},
        ),
        (("--time", "10m", "--steps", "9"), presets.CHARACTER, {"--num-layers": "2"}),
        (
            ("--condition-column", "genre"),
            presets.CONDITIONAL,
            {"--condition-every-line": "True", "--condition-embedding": "True"},
        ),
        (("--hidden-size", "64", "--level", "bpe"), presets.TEXT, {"--seq-length": "128"}),
    ],
)
def test_train_help_shows_the_defaults_of_the_kind_asked_for(
    capsys, monkeypatch, args, kind, shown
):
    text = train_help(capsys, monkeypatch, *args)
    assert f"Defaults shown: a {kind} run" in text
    assert {flag: shown_default(text, flag) for flag in shown} == shown
    budget = shown_default(text, "--time")
    assert budget.startswith(presets.DEFAULT_BUDGET) != (kind == presets.CLASSIFIER)


def test_train_help_reads_the_kind_from_midi_inputs_and_the_config_file(
    capsys, monkeypatch, tmp_path
):
    (tmp_path / "song.mid").write_bytes(b"")
    assert "a music run" in train_help(capsys, monkeypatch, tmp_path / "song.mid")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"classifier": {"label_column": "genre"}}))
    assert "a classifier run" in train_help(capsys, monkeypatch, "--config", config)
    assert "a character run" in train_help(capsys, monkeypatch, tmp_path / "missing.txt")


def test_train_help_shows_the_presets_themselves(capsys, monkeypatch):
    monkeypatch.setitem(presets.CLASSIFIER_DEFAULTS, "hidden_size", 999)
    monkeypatch.setitem(presets.LONG_BUDGET_DEFAULTS, "dropout", 0.25)
    monkeypatch.setattr(presets, "DEFAULT_BUDGET", "7m")
    classifier = train_help(capsys, monkeypatch, "--label-column", "genre")
    assert shown_default(classifier, "--hidden-size") == "999"
    long_budget = train_help(capsys, monkeypatch, "--time", "1h")
    assert shown_default(long_budget, "--dropout") == "0.25"
    assert shown_default(long_budget, "--time").startswith("7m ")


def test_corpora_lists_builtins():
    out = recur("corpora").stdout
    assert "kjv" in out and "public domain" in out
