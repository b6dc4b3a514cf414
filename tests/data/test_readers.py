import pytest

from recur.data.readers import collect_files, load_text, read_text, read_texts
from recur.errors import RecurError


def test_reads_folder_recursively_with_glob(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.txt").write_text("first")
    (tmp_path / "two.txt").write_text("second\n")
    (tmp_path / "skip.md").write_text("not me")
    (tmp_path / ".hidden.txt").write_text("nor me")
    assert [p.name for p in collect_files([tmp_path], "*.txt")] == ["one.txt", "two.txt"]
    assert read_texts([tmp_path], "*.txt") == "first\nsecond\n"


def test_empty_file_is_a_one_line_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("  \n")
    with pytest.raises(RecurError, match=r"empty\.txt: the file is empty"):
        read_text(path)


def test_binary_file_names_the_offset(tmp_path):
    path = tmp_path / "image.bin"
    path.write_bytes(b"GIF89a\x00\x01\x02")
    with pytest.raises(
        RecurError, match=r"image\.bin: looks like a binary file \(NUL byte at offset 6\)"
    ):
        read_text(path)


def test_undecodable_bytes_name_the_offset_and_the_fix(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("café au lait".encode("latin-1"))
    with pytest.raises(
        RecurError, match=r"latin\.txt: byte 3 \(0xe9\) is not valid utf-8; pass --encoding"
    ):
        read_text(path)
    assert read_text(path, "latin-1") == "café au lait"


def test_windows_line_ends_become_newlines(tmp_path):
    path = tmp_path / "dos.txt"
    path.write_bytes(b"a\r\nb\r\n")
    assert read_text(path) == "a\nb\n"


def test_missing_path_and_empty_folder(tmp_path):
    with pytest.raises(RecurError, match="no such file or folder"):
        collect_files([tmp_path / "nope.txt"])
    with pytest.raises(RecurError, match="no files match"):
        collect_files([tmp_path], "*.txt")


def test_corpus_and_paths_are_exclusive(tmp_path):
    with pytest.raises(RecurError, match="either files/folders or --corpus"):
        load_text([str(tmp_path)], "kjv")


def test_builtin_kjv_corpus_loads():
    text = load_text([], "kjv")
    assert text.startswith("Genesis 1:1 In the beginning God created the heaven and the earth.\n")
    assert len(text) > 4_000_000


def test_unknown_corpus_lists_the_choices():
    with pytest.raises(RecurError, match="available: kjv, python"):
        load_text([], "nope")
