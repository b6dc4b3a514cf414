import json

import pytest

from recur.errors import RecurError
from recur.tokenizers import SPECIALS, CharTokenizer, MidiTokenizer, build_tokenizer, load_tokenizer

# What MidiTokenizer(steps_per_beat=1, velocity=True, tempo=96.0), fitted on the ids of three
# notes, wrote as tokenizer.json before it took its special tokens from tokenizers/base.py.
SAVED_MIDI_TOKENIZER = (
    '{"type": "midi", "steps_per_beat": 1, "velocity": true, "tempo": 96.0, "counts": [0, 0, '
    "1, 1, 0, 0, 1, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0"
    ", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,"
    " 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, "
    "0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0"
    ", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,"
    ' 0, 1, 0], "symbols": ["wait:1", "wait:2", "wait:3", "wait:4", "dur:1", "dur:2", "dur:3"'
    ', "dur:4", "dur:5", "dur:6", "dur:7", "dur:8", "note:0", "note:1", "note:2", "note:3", "'
    'note:4", "note:5", "note:6", "note:7", "note:8", "note:9", "note:10", "note:11", "note:1'
    '2", "note:13", "note:14", "note:15", "note:16", "note:17", "note:18", "note:19", "note:2'
    '0", "note:21", "note:22", "note:23", "note:24", "note:25", "note:26", "note:27", "note:2'
    '8", "note:29", "note:30", "note:31", "note:32", "note:33", "note:34", "note:35", "note:3'
    '6", "note:37", "note:38", "note:39", "note:40", "note:41", "note:42", "note:43", "note:4'
    '4", "note:45", "note:46", "note:47", "note:48", "note:49", "note:50", "note:51", "note:5'
    '2", "note:53", "note:54", "note:55", "note:56", "note:57", "note:58", "note:59", "note:6'
    '0", "note:61", "note:62", "note:63", "note:64", "note:65", "note:66", "note:67", "note:6'
    '8", "note:69", "note:70", "note:71", "note:72", "note:73", "note:74", "note:75", "note:7'
    '6", "note:77", "note:78", "note:79", "note:80", "note:81", "note:82", "note:83", "note:8'
    '4", "note:85", "note:86", "note:87", "note:88", "note:89", "note:90", "note:91", "note:9'
    '2", "note:93", "note:94", "note:95", "note:96", "note:97", "note:98", "note:99", "note:1'
    '00", "note:101", "note:102", "note:103", "note:104", "note:105", "note:106", "note:107",'
    ' "note:108", "note:109", "note:110", "note:111", "note:112", "note:113", "note:114", "no'
    'te:115", "note:116", "note:117", "note:118", "note:119", "note:120", "note:121", "note:1'
    '22", "note:123", "note:124", "note:125", "note:126", "note:127", "vel:0", "vel:1", "vel:'
    '2", "vel:3", "vel:4", "vel:5", "vel:6", "vel:7"]}'
)


def test_round_trip_and_specials():
    tokenizer = CharTokenizer().fit(["hello wörld\n"])
    ids = tokenizer.encode("hello wörld\n")
    assert tokenizer.decode(ids) == "hello wörld\n"
    assert min(ids) >= 4 and tokenizer.vocab_size == 4 + len(set("hello wörld\n"))
    assert (tokenizer.pad_id, tokenizer.unk_id, tokenizer.bos_id, tokenizer.eos_id) == (0, 1, 2, 3)


def test_unseen_characters_become_unk_and_are_reported():
    tokenizer = CharTokenizer().fit(["abc"])
    assert tokenizer.encode("abz") == [tokenizer.index["a"], tokenizer.index["b"], tokenizer.unk_id]
    assert tokenizer.unknown("zabyz") == ["z", "y"]


def test_vectorised_encoding_matches_plain_lookup():
    text = "Zebra 🦓 crossing, naïve café!\n" * 3
    tokenizer = CharTokenizer().fit([text[:-20]])
    expected = [tokenizer.index.get(ch, tokenizer.unk_id) for ch in text]
    assert tokenizer.encode_array(text).tolist() == expected


def test_save_and_load(tmp_path):
    tokenizer = CharTokenizer().fit(["some text ✓"])
    tokenizer.save(tmp_path / "tokenizer.json")
    loaded = load_tokenizer(tmp_path / "tokenizer.json")
    assert loaded.symbols == tokenizer.symbols
    assert loaded.encode("text ✓") == tokenizer.encode("text ✓")


def test_unknown_level_is_an_error():
    with pytest.raises(RecurError, match="unknown --level"):
        build_tokenizer("morse")


def test_a_saved_midi_tokenizer_still_loads_with_the_same_ids(tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text(SAVED_MIDI_TOKENIZER, encoding="utf-8")
    loaded = load_tokenizer(path)
    assert isinstance(loaded, MidiTokenizer)
    assert loaded.symbols == list(SPECIALS) + json.loads(SAVED_MIDI_TOKENIZER)["symbols"]
    assert (loaded.pad_id, loaded.unk_id, loaded.bos_id, loaded.eos_id) == (0, 1, 2, 3)
    assert loaded.encode_notes([[0, 1, 60, 100], [0, 2, 64, 100], [3, 1, 67, 40]]).tolist() == [
        2, 150, 8, 76, 9, 80, 6, 146, 8, 83, 3
    ]  # fmt: skip
    loaded.save(tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text(encoding="utf-8") == SAVED_MIDI_TOKENIZER
