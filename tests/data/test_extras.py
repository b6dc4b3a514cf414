"""The music and classify extras are optional: a missing one is a one-line error naming it, and a
text language model trains and samples without them."""

import subprocess
import sys

import numpy as np
import pytest

from recur.classify.linear import fit_linear
from recur.classify.reports import scores
from recur.classify.word_vectors import ppmi_svd
from recur.data.chorales import load_bach
from recur.data.midi_files import read_midi, write_midi
from recur.errors import RecurError
from recur.extras import EXTRAS, require
from tests.conftest import ONE_THREAD, TINY_OPTIONS


def hide(monkeypatch, package: str) -> None:
    """Make ``import package`` (and its submodules) raise ImportError, as when not installed."""
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, package, None)


def one_line_error(call) -> str:
    with pytest.raises(RecurError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_missing_music_extra_is_a_one_line_error(monkeypatch, tmp_path):
    hide(monkeypatch, "pretty_midi")
    hide(monkeypatch, "music21")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tmp_path / "song.mid").write_bytes(b"MThd")
    assert one_line_error(lambda: read_midi(tmp_path / "song.mid")) == (
        "reading MIDI needs the music extra: pip install 'recur[music]'"
    )
    notes = np.array([[0, 1, 60, 80]])
    assert "writing MIDI needs the music extra" in one_line_error(
        lambda: write_midi(notes, tmp_path / "out.mid", 4)
    )
    assert one_line_error(load_bach) == (
        "the bach corpus needs the music extra: pip install 'recur[music]'"
    )


def test_missing_classify_extra_is_a_one_line_error(monkeypatch):
    hide(monkeypatch, "sklearn")
    hide(monkeypatch, "scipy")
    assert one_line_error(lambda: scores(["a"], ["a"], ["a"])) == (
        "a classifier report needs the classify extra: pip install 'recur[classify]'"
    )
    assert "the TF-IDF model needs the classify extra" in one_line_error(
        lambda: fit_linear(["a b", "c d"], ["x", "y"], ["x", "y"])
    )
    ids = [np.array([4, 5, 6, 7, 4, 5])]
    assert "--embedding-init svd needs the classify extra" in one_line_error(
        lambda: ppmi_svd(ids, 8, 2)
    )


def test_a_broken_install_shows_why(monkeypatch, tmp_path):
    (tmp_path / "half_installed.py").write_text("import its_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    message = one_line_error(lambda: require("half_installed", "music", "reading MIDI"))
    assert message == (
        "reading MIDI needs the music extra: pip install 'recur[music]' "
        "(No module named 'its_missing_dependency')"
    )


CORE_ONLY = """
import sys
for name in {packages!r}:
    sys.modules[name] = None  # as if not installed: importing it raises ImportError
import recur
model = recur.train({corpus!r}, out={out!r}, quiet=True, steps=10, **{options!r})
assert recur.load({out!r}).generate("the", length=20, seed=1)
print("trained and sampled")
"""


def test_a_text_language_model_needs_no_extra(corpus_file, tmp_path):
    packages = [name for names in EXTRAS.values() for name in names]
    script = CORE_ONLY.format(
        packages=packages, corpus=str(corpus_file), out=str(tmp_path / "run"), options=TINY_OPTIONS
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=ONE_THREAD
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "trained and sampled" in result.stdout
