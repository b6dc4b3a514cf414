"""MIDI in and out, the event tokenizer, corpus preparation and the baseline, on tiny files."""

import json

import numpy as np
import pytest

from recur.config.options import DataConfig
from recur.data.midi_files import clean_notes, quantize, read_midi, write_midi
from recur.data.pieces import parse_transpose, prepare_midi, transpose, unigram_loss
from recur.errors import RecurError
from recur.tokenizers import load_tokenizer
from recur.tokenizers.midi import MidiTokenizer

pretty_midi = pytest.importorskip("pretty_midi")


def write_song(path, notes, tempo=120.0, drums=None):
    """notes: (start s, end s, pitch[, velocity]) rows on a piano; drums: the same on channel 10."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    for rows, is_drum in ((notes, False), (drums, True)):
        if rows is None:
            continue
        instrument = pretty_midi.Instrument(program=0, is_drum=is_drum)
        for row in rows:
            velocity = row[3] if len(row) > 3 else 90
            instrument.notes.append(pretty_midi.Note(velocity, row[2], row[0], row[1]))
        midi.instruments.append(instrument)
    midi.write(str(path))
    return path


def scale_song(seed=0, count=40):
    """A melody over a bass: 0.25 s steps at 120 BPM (an eighth note), varied durations."""
    rng = np.random.default_rng(seed)
    rows, time = [], 0.0
    for i in range(count):
        length = float(rng.choice([0.25, 0.5, 1.0]))
        rows.append((time, time + length, int(60 + rng.choice([0, 2, 4, 5, 7, 9, 11, 12]))))
        if i % 4 == 0:
            rows.append((time, time + 1.0, 48))
        time += length
    return rows


@pytest.fixture
def songs(tmp_path):
    folder = tmp_path / "songs"
    folder.mkdir()
    for k in range(4):
        write_song(folder / f"song{k}.mid", scale_song(k))
    return folder


def test_read_write_round_trip_keeps_pitch_start_and_duration(tmp_path):
    rows = [(0.0, 0.5, 60), (0.0, 1.0, 64), (0.5, 0.74, 62), (1.26, 2.0, 67)]  # chord, off-grid
    piece = read_midi(write_song(tmp_path / "a.mid", rows, tempo=120.0))
    grid = quantize(piece.notes, 4)  # 1/4 beat = 0.125 s at 120 BPM
    assert grid.tolist() == [[0, 4, 60, 90], [0, 8, 64, 90], [4, 2, 62, 90], [10, 6, 67, 90]]
    back = read_midi(write_midi(grid, tmp_path / "b.mid", steps_per_beat=4, tempo=120.0))
    assert quantize(back.notes, 4).tolist() == grid.tolist()
    assert back.tempo == pytest.approx(120.0)


def test_tempo_changes_are_followed_in_beats(tmp_path):
    piece = read_midi(write_song(tmp_path / "slow.mid", [(0.0, 1.0, 60), (1.0, 2.0, 62)], tempo=60))
    assert quantize(piece.notes, 4).tolist() == [[0, 4, 60, 90], [4, 4, 62, 90]]


def test_tokenizer_round_trip_and_save_load(tmp_path):
    grid = np.array(
        [[0, 4, 60, 90], [0, 4, 64, 90], [4, 2, 62, 40], [30, 80, 67, 100], [100, 80, 69, 100]]
    )
    tokenizer = MidiTokenizer(steps_per_beat=4, velocity=True, tempo=96.0)
    ids = tokenizer.encode_notes(grid)
    text = tokenizer.decode(ids)
    assert text.split()[:5] == ["vel:5", "dur:4", "note:60", "note:64", "wait:4"]
    decoded = tokenizer.decode_notes(ids)
    # Durations clip at 8 beats (32 steps); rests longer than 8 beats shrink to 8 beats.
    assert decoded[:, :3].tolist() == [
        [0, 4, 60],
        [0, 4, 64],
        [4, 2, 62],
        [30, 32, 67],
        [62, 32, 69],
    ]
    assert np.abs(decoded[:, 3] - grid[:, 3]).max() <= 8  # 8 velocity levels
    tokenizer.fit([ids])
    tokenizer.save(tmp_path / "tokenizer.json")
    loaded = load_tokenizer(tmp_path / "tokenizer.json")
    assert loaded.symbols == tokenizer.symbols and loaded.tempo == 96.0
    assert loaded.encode(text) == ids[1:-1].tolist() and loaded.counts == tokenizer.counts
    assert json.loads((tmp_path / "tokenizer.json").read_text())["type"] == "midi"


def test_any_id_sequence_decodes_to_writable_notes(tmp_path):
    tokenizer = MidiTokenizer(steps_per_beat=4)
    ids = np.random.default_rng(0).integers(0, tokenizer.vocab_size, 500)
    notes = tokenizer.decode_notes(ids)
    assert len(notes) > 50 and (notes[:, 1] >= 1).all()
    write_midi(notes, tmp_path / "noise.mid", 4)
    assert pretty_midi.PrettyMIDI(str(tmp_path / "noise.mid")).instruments[0].notes


def test_writer_removes_duplicates_and_overlaps(tmp_path):
    notes = np.array(
        [
            [0, 8, 60, 90],
            [0, 2, 60, 90],
            [4, 4, 60, 90],
            [2, 0, 62, 90],
            [3, 2, 200, 90],
            [6, 2, 64, 90],
        ]
    )
    assert clean_notes(notes).tolist() == [[0, 4, 60, 90], [4, 4, 60, 90], [6, 2, 64, 90]]
    midi = pretty_midi.PrettyMIDI(str(write_midi(notes, tmp_path / "x.mid", 4, tempo=90)))
    written = sorted((n.pitch, n.start, n.end) for n in midi.instruments[0].notes)
    assert all(end > start for _, start, end in written)
    for (p1, _, e1), (p2, s2, _) in zip(written, written[1:]):
        assert p1 != p2 or e1 <= s2 + 1e-9
    assert midi.get_tempo_changes()[1][0] == pytest.approx(90, rel=1e-4)


def test_transpose_range_and_bounds():
    assert parse_transpose("-5..6") == list(range(-5, 7)) and parse_transpose("0") == [0]
    with pytest.raises(RecurError, match="--transpose"):
        parse_transpose("up")
    notes = np.array([[0, 1, 125, 90], [0, 1, 60, 90]])
    assert transpose(notes, 5).tolist() == [[0, 1, 65, 90]]


def test_prepare_skips_bad_files_with_warning_and_augments_training_only(songs, capsys):
    (songs / "corrupt.mid").write_bytes(b"MThd garbage")
    (songs / "empty.mid").write_bytes(b"")
    write_song(songs / "drums.mid", [], drums=[(0.0, 0.5, 36)])
    (songs / "notes.txt").write_text("not music")
    plain = prepare_midi(DataConfig(paths=[str(songs)], transpose="0"))
    err = capsys.readouterr().err
    for name in ("corrupt.mid", "empty.mid", "drums.mid: skipped: no notes (drum tracks"):
        assert name in err
    assert "4 pieces read, 3 skipped, 1 non-MIDI files ignored" in plain["summary"]
    shifted = prepare_midi(DataConfig(paths=[str(songs)], transpose="-2..2"))
    assert len(shifted["train_ids"]) == 5 * len(plain["train_ids"])
    assert shifted["val_ids"].tolist() == plain["val_ids"].tolist()  # last piece, untouched
    assert plain["val_characters"] == len(plain["val_ids"]) - 1
    assert plain["baseline"] == pytest.approx(
        unigram_loss(plain["tokenizer"].counts, plain["val_ids"])
    )


def test_drums_can_be_asked_for(songs):
    write_song(songs / "drums.mid", [], drums=[(0.0, 0.5, 36), (0.5, 1.0, 38)])
    summary = prepare_midi(DataConfig(paths=[str(songs)], drums=True))["summary"]
    assert "5 pieces read, 0 skipped" in summary


def test_folder_without_usable_notes_is_one_line_error(tmp_path):
    (tmp_path / "broken.mid").write_bytes(b"nothing")
    with pytest.raises(RecurError, match=r"no usable notes in 1 MIDI file\(s\) \(1 skipped\)"):
        prepare_midi(DataConfig(paths=[str(tmp_path)]))


def test_unigram_loss_with_add_one_smoothing():
    counts = [3, 1, 0]  # smoothed: 4/7, 2/7, 1/7
    assert unigram_loss(counts, np.array([0, 0, 2])) == pytest.approx(
        -(np.log(4 / 7) + np.log(1 / 7)) / 2
    )


def test_readme_example_is_what_the_tokenizer_writes():
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    example = readme.split("<bos> ", 1)[1].split(" ...", 1)[0]
    notes = [[0, 8, 48, 80], [0, 8, 52, 80], [0, 8, 55, 80], [8, 2, 62, 80], [14, 4, 64, 80]]
    assert MidiTokenizer(steps_per_beat=4).decode(MidiTokenizer().encode_notes(notes)) == example


def test_bach_corpus_is_read_from_its_cache(tmp_path, monkeypatch):
    music21 = pytest.importorskip("music21")
    from recur.data.chorales import load_bach
    from recur.data.pieces import is_music

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = tmp_path / "recur" / f"bach-music21-{music21.__version__}.npz"
    cache.parent.mkdir()
    np.savez(cache, bwv1=np.array([[0.0, 1.0, 60, 80], [1.0, 2.5, 62, 80]]))
    pieces = load_bach()
    assert [p.name for p in pieces] == ["bwv1"] and quantize(pieces[0].notes, 4)[1, 1] == 6
    assert is_music(DataConfig(corpus="bach")) and not is_music(DataConfig(corpus="kjv"))


def test_midi_run_resumes_exactly(songs, tmp_path):
    import recur
    from tests.conftest import TINY_OPTIONS

    options = dict(TINY_OPTIONS, steps=12, eval_every="6", transpose="-1..1", quiet=True)
    whole = recur.train(songs, out=str(tmp_path / "whole"), **options)
    recur.train(songs, out=str(tmp_path / "paused"), stop_after=6, **options)
    resumed = recur.train(resume=str(tmp_path / "paused"), quiet=True)
    notes = [
        m.generate_midi(str(tmp_path / f"{i}.mid"), length=40, seed=2)[0]["notes"]
        for i, m in enumerate((whole, resumed))
    ]
    assert resumed.evaluate(path=str(songs))["loss"] == pytest.approx(
        whole.evaluate(path=str(songs))["loss"], rel=1e-6
    )
    assert notes[0] == notes[1] and resumed.bundle.tokenizer.kind == "midi"


def test_validation_is_the_last_pieces_or_the_last_notes_of_one_piece():
    from recur.data.pieces import split_pieces

    grids = [np.array([[i, 1, 60 + i, 90]]) for i in range(20)]
    train, val, how = split_pieces(grids, 0.1)
    assert len(train) == 18 and [g[0, 2] for g in val] == [78, 79] and how == "last 2 pieces"
    one = np.array([[i, 1, 60, 90] for i in range(10)])
    train, val, how = split_pieces([one], 0.2)
    assert train[0][:, 0].tolist() == list(range(8)) and val[0][:, 0].tolist() == [0, 1]


def test_tracks_pick_instruments_by_number(tmp_path):
    midi = pretty_midi.PrettyMIDI()
    for pitch in (60, 72):
        instrument = pretty_midi.Instrument(program=0)
        instrument.notes.append(pretty_midi.Note(90, pitch, 0.0, 0.5))
        midi.instruments.append(instrument)
    midi.write(str(tmp_path / "two.mid"))
    assert read_midi(tmp_path / "two.mid").notes[:, 2].tolist() == [60, 72]
    assert read_midi(tmp_path / "two.mid", tracks="1").notes[:, 2].tolist() == [72]
    with pytest.raises(RecurError, match="--tracks 'piano'"):
        read_midi(tmp_path / "two.mid", tracks="piano")


def test_music_options_on_a_text_run_are_an_error():
    from types import SimpleNamespace

    from recur.api import Model
    from recur.tokenizers import CharTokenizer

    model = Model(SimpleNamespace(tokenizer=CharTokenizer(["a"]), path="runs/text/best", kind="lm"))
    with pytest.raises(RecurError, match="not a MIDI run"):
        model.generate_midi("x.mid")
