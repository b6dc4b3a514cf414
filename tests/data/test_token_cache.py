import numpy as np
import pytest

from recur.data import token_cache
from recur.data.readers import read_texts
from recur.data.streams import split_text
from recur.data.token_cache import TokenFile, build_cache
from recur.errors import RecurError
from recur.tokenizers import CharTokenizer


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(token_cache, "BLOCK_BYTES", 7)  # many blocks, split everywhere


def test_cache_matches_in_memory_tokenization(tmp_path, small_blocks):
    (tmp_path / "a.txt").write_bytes("héllo\r\nwörld 🦓 zebra\r\n".encode() * 5)
    (tmp_path / "b.txt").write_text("no newline at the end, and a val-only ✓")
    text = read_texts([tmp_path], "*.txt")
    train_text, val_text = split_text(text, 0.2)
    expected = CharTokenizer().fit([train_text])
    tokenizer, train_ids, val_ids = build_cache([tmp_path], "*.txt", "utf-8", 0.2, tmp_path / "c")
    assert tokenizer.symbols == expected.symbols
    assert train_ids[:].tolist() == expected.encode(train_text)
    assert val_ids[:].tolist() == expected.encode(val_text)
    assert expected.unk_id in val_ids[:].tolist()  # "✓" is only in validation


def test_token_file_slices_like_an_array(tmp_path):
    data = np.arange(50, dtype=np.uint16)
    (tmp_path / "ids.bin").write_bytes(data.tobytes())
    ids = TokenFile(tmp_path / "ids.bin", "<u2")
    head, tail = ids.split(30)
    assert len(head) == 30 and len(tail) == 20
    assert tail[-5:].tolist() == [45, 46, 47, 48, 49]
    assert head[28:40].tolist() == [28, 29] and tail[0] == 30
    assert head[5:5].tolist() == []


def test_cache_is_reused_until_the_input_changes(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("abcdefghij" * 20)
    build_cache([path], "*", "utf-8", 0.1, tmp_path / "c")
    stamp = (tmp_path / "c" / "ids.bin").stat().st_mtime_ns
    build_cache([path], "*", "utf-8", 0.1, tmp_path / "c")
    assert (tmp_path / "c" / "ids.bin").stat().st_mtime_ns == stamp
    path.write_text("klmnopqrst" * 30)
    tokenizer, train_ids, _ = build_cache([path], "*", "utf-8", 0.1, tmp_path / "c")
    assert tokenizer.decode(train_ids[:10].tolist()) == "klmnopqrst"


def test_streaming_errors_name_the_file_and_offset(tmp_path, small_blocks):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine text here\xff more")
    with pytest.raises(RecurError, match=r"bad\.txt: byte 14 is not valid utf-8"):
        build_cache([bad], "*", "utf-8", 0.1, tmp_path / "c")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n  ")
    with pytest.raises(RecurError, match=r"empty\.txt: the file is empty"):
        build_cache([empty], "*", "utf-8", 0.1, tmp_path / "c2")
