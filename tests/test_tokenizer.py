import pytest

from recur.errors import RecurError
from recur.tokenizers import CharTokenizer, build_tokenizer, load_tokenizer


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
