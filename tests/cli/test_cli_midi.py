"""The command line on a tiny folder of MIDI files: train, generate MIDI + piano roll, evaluate."""

import json

import pytest

from tests.cli.test_cli import flags, recur
from tests.conftest import TINY_OPTIONS
from tests.music.test_midi import scale_song, write_song

pretty_midi = pytest.importorskip("pretty_midi")


@pytest.fixture(scope="module")
def music_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("music")
    (folder / "songs").mkdir()
    for k in range(5):
        write_song(folder / "songs" / f"song{k}.mid", scale_song(k, count=60))
    (folder / "songs" / "broken.mid").write_bytes(b"MThd not really")
    result = recur(
        "train",
        folder / "songs",
        "--steps",
        30,
        "--out",
        folder / "run",
        "--transpose",
        "-2..2",
        *flags(TINY_OPTIONS),
    )
    return folder, result.stderr


def test_training_summary_reports_files_notes_events_and_baseline(music_run):
    _, log = music_run
    assert "broken.mid: skipped: not a readable MIDI file" in log
    assert "MIDI: 5 pieces read, 1 skipped" in log and "vocabulary 180" in log
    assert "for a unigram model of the same events" in log


def test_generate_writes_loadable_midi_and_piano_rolls(music_run):
    folder, _ = music_run
    out = recur(
        "generate",
        folder / "run",
        "--out",
        folder / "gen" / "piece.mid",
        "-n",
        2,
        "--length",
        120,
        "--seed",
        3,
        "--temperature",
        1.0,
        "--json",
    )
    written = json.loads(out.stdout)
    assert [w["midi"] for w in written] == [str(folder / "gen" / f"piece-{i}.mid") for i in (1, 2)]
    for entry in written:
        midi = pretty_midi.PrettyMIDI(entry["midi"])
        notes = midi.instruments[0].notes
        assert len(notes) == entry["notes"] > 0 and all(n.end > n.start for n in notes)
        assert (folder / "gen" / f"{entry['midi'][-11:-4]}.png").stat().st_size > 1000
        assert len(midi.get_tempo_changes()[1]) == 1


def test_generate_primed_from_a_midi_file_starts_with_its_notes(music_run):
    folder, _ = music_run
    recur(
        "generate",
        folder / "run",
        "--out",
        folder / "primed.mid",
        "--prime-midi",
        folder / "songs" / "song0.mid",
        "--prime-seconds",
        2,
        "--length",
        20,
        "--seed",
        1,
    )
    prime = pretty_midi.PrettyMIDI(str(folder / "songs" / "song0.mid")).instruments[0].notes
    made = pretty_midi.PrettyMIDI(str(folder / "primed.mid")).instruments[0].notes
    first = sorted((round(n.start, 3), n.pitch) for n in prime if n.start < 2)
    assert sorted((round(n.start, 3), n.pitch) for n in made)[: len(first)] == first


def test_evaluate_reports_loss_and_unigram_baseline(music_run):
    folder, _ = music_run
    result = json.loads(
        recur("evaluate", folder / "run", folder / "songs" / "song4.mid", "--json").stdout
    )
    assert result["tokens"] > 50 and 0 < result["unigram_loss"] < 6 and result["loss"] > 0


def test_wav_without_fluidsynth_says_how_to_install(music_run, monkeypatch):
    from recur.data.midi_files import render_wav

    monkeypatch.setenv("PATH", "/nonexistent")
    assert "apt-get install fluidsynth fluid-soundfont-gm" in render_wav("a.mid", "a.wav")


def test_help_does_not_import_midi_libraries():
    import subprocess
    import sys

    code = (
        "import sys, recur.cli; recur.cli.build_parser().format_help(); "
        "print(sorted({'torch', 'pretty_midi', 'music21', 'matplotlib'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]"
    assert "--prime-midi" in recur("generate", "--help").stdout


def test_negative_transpose_range_is_read_as_a_value():
    from recur.cli import join_negative_values

    assert join_negative_values(["train", "x", "--transpose", "-5..6", "--steps", "-3"]) == [
        "train",
        "x",
        "--transpose=-5..6",
        "--steps",
        "-3",
    ]


def test_wav_renders_when_fluidsynth_and_a_soundfont_are_installed(tmp_path):
    import shutil
    import wave
    from pathlib import Path

    from recur.data.midi_files import SOUNDFONTS, render_wav

    if not shutil.which("fluidsynth") or not any(Path(f).is_file() for f in SOUNDFONTS):
        pytest.skip("fluidsynth or a General MIDI soundfont is not installed")
    song = write_song(tmp_path / "a.mid", [(0.0, 1.0, 60), (1.0, 2.0, 64)])
    assert render_wav(song, tmp_path / "a.wav") is None
    with wave.open(str(tmp_path / "a.wav")) as audio:
        assert audio.getnframes() / audio.getframerate() >= 2.0


def test_music_runs_start_from_the_music_model_unless_told(music_run):
    folder, _ = music_run
    config = json.loads(recur("info", folder / "run").stdout)
    # The fixture gives sizes and a learning rate, which win; the cell is the music default.
    assert config["model"]["cell"] == "lstm" and config["model"]["hidden_size"] == 32
    assert config["train"]["lr"] == TINY_OPTIONS["lr"]


def test_music_defaults_fill_only_what_is_not_given(music_run, tmp_path):
    import recur
    from recur.config.presets import MUSIC_DEFAULTS

    folder, _ = music_run
    model = recur.train(
        folder / "songs",
        out=str(tmp_path / "run"),
        steps=2,
        batch_size=2,
        seq_length=8,
        samples=0,
        threads=1,
        quiet=True,
        embedding_size=16,
    )
    config = model.bundle.config
    assert config["model"]["cell"] == "lstm" == MUSIC_DEFAULTS["cell"]
    assert config["model"]["hidden_size"] == MUSIC_DEFAULTS["hidden_size"]
    assert config["model"]["embedding_size"] == 16  # given, so kept
    assert config["train"]["lr"] == MUSIC_DEFAULTS["lr"]
