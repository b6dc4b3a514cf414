"""Document corpora: CSV and JSONL rows, lines and blocks, --where, skipped rows, column errors."""

import json

import numpy as np
import pytest

from recur.config.options import DataConfig
from recur.data.documents import fingerprint, read_documents, resolve_mode
from recur.data.readers import collect_files
from recur.data.streams import frame_documents, split_documents
from recur.errors import RecurError
from recur.tokenizers import CharTokenizer

CSV = (
    "genre,title,lyrics\n"
    'pop,Hello,"la la\nla"\n'
    "metal,Iron,fire\n"
    "pop,,\n"
    "metal,Steel,\n"
    'pop,Bye,"so long"\n'
)


def documents(path, **options):
    data = DataConfig(paths=[str(path)], **options)
    return read_documents(data, resolve_mode(data, collect_files(data.paths)))


def test_csv_joins_text_columns_and_skips_empty_rows(tmp_path):
    path = tmp_path / "songs.csv"
    path.write_text(CSV)
    docs = documents(path, text_column="title,lyrics", separator=" | ")
    assert docs.texts == ["Hello | la la\nla", "Iron | fire", "Steel", "Bye | so long"]
    assert docs.skipped == 1
    only_lyrics = documents(path, text_column="lyrics", condition_column="genre")
    assert only_lyrics.texts == ["la la\nla", "fire", "so long"] and only_lyrics.skipped == 2
    assert only_lyrics.counts(["genre"]) == {"genre": {"pop": 2, "metal": 1}}
    path.write_text(CSV.replace("metal,Iron", "\nmetal,Iron"))  # a blank line counts too
    assert documents(path, text_column="title,lyrics").skipped == 2


def test_where_keeps_matching_rows(tmp_path):
    path = tmp_path / "songs.csv"
    path.write_text(CSV)
    docs = documents(path, text_column="title", where="genre=metal")
    assert docs.texts == ["Iron", "Steel"] and docs.filtered == 3


def test_missing_column_lists_the_columns(tmp_path):
    path = tmp_path / "songs.csv"
    path.write_text(CSV)
    with pytest.raises(RecurError, match=r"no column 'text'; the file has: genre, title, lyrics"):
        documents(path, text_column="text")
    with pytest.raises(RecurError, match=r"no column 'mood'; the file has"):
        documents(path, text_column="lyrics", where="mood=sad")
    with pytest.raises(RecurError, match=r"--text-column; the file has: genre, title, lyrics"):
        documents(path)


def test_jsonl_rows(tmp_path):
    path = tmp_path / "songs.jsonl"
    rows = [
        {"genre": "pop", "lyrics": "a b"},
        {"genre": "pop", "lyrics": "  "},
        {"genre": "metal", "lyrics": "c"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    docs = documents(path, text_column="lyrics", condition_column="genre")
    assert docs.texts == ["a b", "c"] and docs.skipped == 2  # empty text, blank line
    assert docs.conditions == [{"genre": "pop"}, {"genre": "metal"}]
    path.write_text('{"lyrics": "a"}\nnot json\n')
    with pytest.raises(RecurError, match="line 2 is not JSON"):
        documents(path, text_column="lyrics")


def test_lines_and_blocks_skip_and_count_blank_lines(tmp_path):
    path = tmp_path / "heads.txt"
    path.write_text("first one\n\nsecond one\n   \nthird\n")
    lines = documents(path, documents="lines")
    assert lines.texts == ["first one", "second one", "third"] and lines.skipped == 2
    path.write_text("verse one\nline two\n\n\nverse two\n")
    assert documents(path, documents="blocks").texts == ["verse one\nline two", "verse two"]
    assert resolve_mode(DataConfig(), [path]) == "none"
    with pytest.raises(RecurError, match="need CSV or JSONL"):
        documents(path, documents="lines", where="a=b")


def test_framing_and_split():
    tokenizer = CharTokenizer().fit(["ab"], ["<g=x>"])
    ids = frame_documents(tokenizer, ["ab", "b"], [{"g": "x"}, {"g": "x"}], ["g"])
    a, b = tokenizer.index["a"], tokenizer.index["b"]
    assert ids.tolist() == [2, 4, a, b, 3, 2, 4, b, 3]
    train, val = split_documents(10, 0.2)
    assert len(val) == 2 and sorted(train + val) == list(range(10))
    assert split_documents(10, 0.2) == (train, val)
    assert fingerprint("Hello  World\n") == fingerprint("hello world")
    assert isinstance(ids, np.ndarray)
    with_lines = CharTokenizer().fit(["ab\n"], ["<g=x>"])
    lines = frame_documents(with_lines, ["a\nb"], [{"g": "x"}], ["g"], every_line=True)
    a, b, newline = (with_lines.index[c] for c in "ab\n")
    assert lines.tolist() == [2, 4, a, newline, 4, b, 3]
    # Without line ends in the vocabulary there is nothing to repeat the condition after.
    plain = frame_documents(tokenizer, ["ab"], [{"g": "x"}], ["g"], every_line=True)
    assert plain.tolist() == [2, 4, tokenizer.index["a"], tokenizer.index["b"], 3]
