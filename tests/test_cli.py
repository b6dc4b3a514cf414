"""The command line end to end on a tiny corpus, in subprocesses as a user would run it."""

import json
import subprocess
import sys

import pytest

from .conftest import ONE_THREAD, TINY_OPTIONS


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
    from .conftest import tiny_text

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
    "args, message",
    [
        (
            ("generate", "RUN", "--prime", "XYZ"),
            "error: the prime contains characters the model never saw: 'X', 'Y', 'Z'",
        ),
        (("train", "EMPTY", "--steps", 1), "error: {d}/empty.txt: the file is empty"),
        (("train", "--resume", "RUN", "--hidden-size", 64), "error: --hidden-size 64 conflicts"),
        (("generate", "NOWHERE"), "error: NOWHERE: not a run directory"),
        (("train", "--corpus", "nope"), "error: unknown corpus 'nope'"),
    ],
)
def test_bad_input_is_one_line_with_status_2(run_dir, args, message):
    (run_dir / "empty.txt").write_text("")
    names = {"RUN": run_dir / "run", "EMPTY": run_dir / "empty.txt"}
    result = recur(*[names.get(a, a) for a in args], check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(message.format(d=run_dir))
    assert "Traceback" not in result.stderr


def test_help_is_fast_and_does_not_import_torch():
    code = "import sys, recur.cli; recur.cli.build_parser().format_help(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"
    assert "--hidden-size" in recur("train", "--help").stdout


def test_corpora_lists_builtins():
    out = recur("corpora").stdout
    assert "kjv" in out and "public domain" in out
