"""The command line end to end on a tiny CSV: a conditional word model of headlines."""

import json

import pytest

from tests.cli.test_cli import flags, recur
from tests.conftest import TINY_OPTIONS

KINDS = {
    "bait": "you won't believe these amazing cats".split(),
    "news": "minister says economy grows slowly today".split(),
}


@pytest.fixture(scope="module")
def headlines(tmp_path_factory):
    import random

    folder = tmp_path_factory.mktemp("heads")
    rng = random.Random(1)
    lines = ["label,source,headline"]
    for index in range(300):
        label = rng.choice(list(KINDS))
        words = " ".join(rng.choice(KINDS[label]) for _ in range(rng.randint(3, 9)))
        lines.append(f"{label},{'a' if index % 3 else 'b'},{words}")
    lines += ["news,a,", "bait,b,   "]
    (folder / "heads.csv").write_text("\n".join(lines) + "\n")
    options = {**TINY_OPTIONS, "eval_every": "60", "log_every": 20}
    result = recur(
        "train",
        folder / "heads.csv",
        "--level",
        "word",
        "--text-column",
        "headline",
        "--where",
        "source=a",
        "--condition-column",
        "label",
        "--steps",
        120,
        "--out",
        folder / "run",
        *flags(options),
    )
    return folder, result


def test_training_summary_counts_documents(headlines):
    _, result = headlines
    assert (
        "documents (rows): 200 read, 1 empty skipped, 101 left out by --where source=a"
        in result.stdout + result.stderr
    )


def test_generate_bounded_documents_as_json(headlines):
    folder, _ = headlines
    out = recur(
        "generate",
        folder / "run",
        "-n",
        8,
        "--min-words",
        4,
        "--max-words",
        6,
        "--condition",
        "label=news",
        "--unique",
        "--seed",
        2,
        "--json",
    ).stdout
    result = json.loads(out)
    assert len(result["samples"]) == 8 and len(set(result["samples"])) == 8
    assert all(4 <= len(s.split()) <= 6 for s in result["samples"])
    assert all(w in KINDS["news"] for s in result["samples"] for w in s.split())
    assert result["conditions"] == [{"label": "news"}] * 8
    assert result["novelty"]["outputs"] == 8


def test_beam_completes_a_prime(headlines):
    folder, _ = headlines
    out = recur(
        "generate",
        folder / "run",
        "--beam",
        4,
        "--prime",
        "minister",
        "--condition",
        "label=news",
        "--json",
    ).stdout
    [text] = json.loads(out)["samples"]
    assert text.startswith("minister") and set(text.split()) <= set(KINDS["news"])


def test_info_shows_conditions_and_evaluate_reports_scales(headlines):
    folder, _ = headlines
    info = json.loads(recur("info", folder / "run").stdout)
    assert set(info["conditions"]["label"]) == {"bait", "news"}
    assert info["data"]["documents"] == "rows" and info["data"]["level"] == "word"
    result = json.loads(recur("evaluate", folder / "run", folder / "heads.csv", "--json").stdout)
    assert {"perplexity", "word_perplexity", "bits_per_char", "level"} <= set(result)


@pytest.mark.parametrize(
    "args, message, code",
    [
        (
            ("generate", "RUN", "--condition", "label=sports"),
            r"error: unknown label 'sports'; valid values: "
            r"(bait|news) \(\d+\), (bait|news) \(\d+\)",
            1,
        ),
        (
            ("train", "CSV", "--text-column", "title", "--steps", 1),
            "error: {csv}: no column 'title'; the file has: label, source, headline",
            1,
        ),
        (
            ("generate", "RUN", "--min-words", 5, "--max-words", 2),
            "error: --min-words 5 is above",
            2,
        ),
    ],
)
def test_document_errors_are_one_line(headlines, args, message, code):
    import re

    folder, _ = headlines
    names = {"RUN": folder / "run", "CSV": folder / "heads.csv"}
    result = recur(*[names.get(a, a) for a in args], check=False)
    assert result.returncode == code and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert re.match(message.format(csv=re.escape(str(folder / "heads.csv"))), last), last


def test_bpe_level_from_the_command_line(tmp_path):
    from tests.conftest import tiny_text

    (tmp_path / "tiny.txt").write_text(tiny_text())
    recur(
        "train",
        tmp_path / "tiny.txt",
        "--level",
        "bpe",
        "--vocab-size",
        300,
        "--steps",
        5,
        "--out",
        tmp_path / "run",
        *flags({**TINY_OPTIONS, "eval_every": "5"}),
    )
    tokenizer = json.loads((tmp_path / "run" / "last" / "tokenizer.json").read_text())
    assert tokenizer["type"] == "bpe" and tokenizer["target_size"] == 300
    result = json.loads(recur("evaluate", tmp_path / "run", tmp_path / "tiny.txt", "--json").stdout)
    assert result["level"] == "bpe" and result["words"] == len(tiny_text().split())
    assert result["tokens"] < result["characters"] / 1.5  # merges: fewer tokens than chars
