"""A tiny character run shared by the inspect tests (trained once per session)."""

import pytest

import recur
from tests.conftest import TINY_OPTIONS, tiny_text


@pytest.fixture(scope="session")
def char_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inspect")
    corpus = folder / "corpus.txt"
    corpus.write_text(tiny_text(200) + 'He said "(yes)" 42 times.\n', encoding="utf-8")
    options = {**TINY_OPTIONS, "cell": "lstm", "eval_every": "6"}
    recur.train(str(corpus), out=str(folder / "run"), quiet=True, steps=6, **options)
    return folder / "run"
