"""recur inspect on a music run: the piano roll is coloured by surprise, units tied to pitch."""

import pytest

pytest.importorskip("pretty_midi")

import recur  # noqa: E402
from recur.inspect.report import write_report  # noqa: E402
from tests.conftest import TINY_OPTIONS  # noqa: E402
from tests.music.test_midi import scale_song, write_song  # noqa: E402


def test_a_music_report_has_the_piano_roll_and_pitch_units(tmp_path):
    folder = tmp_path / "songs"
    folder.mkdir()
    for k in range(3):
        write_song(folder / f"song{k}.mid", scale_song(k))
    options = dict(TINY_OPTIONS, steps=6, eval_every="6", quiet=True)
    recur.train(str(folder), out=str(tmp_path / "run"), **options)
    findings = write_report(tmp_path / "run", str(folder / "song0.mid"), str(tmp_path / "m.html"))
    notes = findings["music"]["notes"]
    assert len(notes) == 50  # 40 melody notes and 10 bass notes
    assert {note[2] for note in notes} >= {48, 60}
    assert len(findings["surprise"]) == len(findings["tokens"])
    features = {entry["feature"] for entry in findings["discovery"]}
    assert {"pitch", "position in beat", "chord change"} <= features
    assert '"music"' in (tmp_path / "m.html").read_text(encoding="utf-8")
