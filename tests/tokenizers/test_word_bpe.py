"""Word and BPE tokenizers: options, vocabulary limits, round trips, condition tokens, save/load."""

import pytest

from recur.config.options import DataConfig
from recur.errors import RecurError
from recur.tokenizers import (
    BPETokenizer,
    WordTokenizer,
    build_tokenizer,
    condition_token,
    load_tokenizer,
)

TEXT = "The cat sat. The cat ran!\nthe dog sat, (quietly).\nDon't stop <unk> now\n"


def test_word_splits_punctuation_and_keeps_line_ends_and_contractions():
    tokenizer = WordTokenizer().fit([TEXT])
    assert tokenizer.words("Don't stop, cat.\n") == ["Don't", "stop", ",", "cat", ".", "\n"]
    assert tokenizer.decode(tokenizer.encode(TEXT)) == TEXT
    quoted = '15 Times "Broad City" Was The Best, "Really"'
    assert (
        WordTokenizer().fit([quoted]).decode(WordTokenizer().fit([quoted]).encode(quoted)) == quoted
    )


def test_word_without_punctuation_splitting_keeps_runs_of_non_space():
    tokenizer = WordTokenizer(split_punctuation=False).fit([TEXT])
    assert tokenizer.words("a @-@ b, c.\n") == ["a", "@-@", "b,", "c.", "\n"]
    assert tokenizer.decode(tokenizer.encode("The cat sat.\n")) == "The cat sat.\n"


def test_lowercase_merges_cases():
    cased = WordTokenizer().fit([TEXT])
    lower = WordTokenizer(lowercase=True).fit([TEXT])
    assert "The" in cased.index and "the" in cased.index
    assert "The" not in lower.index and lower.encode("THE") == lower.encode("the")


def test_min_count_and_max_vocab_send_rare_words_to_unk():
    text = "a a a b b c\n"
    assert WordTokenizer(min_count=2).fit([text]).encode("a b c") == [
        *WordTokenizer(min_count=2).fit([text]).encode("a b"),
        1,
    ]
    top = WordTokenizer(max_vocab=1).fit([text])
    assert top.vocab_size == 4 + 1 and top.encode("a b") == [top.index["a"], top.unk_id]
    assert top.unknown("a b c b") == ["b", "c"]


def test_literal_unk_is_the_unknown_token():
    tokenizer = WordTokenizer(split_punctuation=False).fit(["x <unk> y\n"])
    assert tokenizer.encode("<unk>") == [tokenizer.unk_id]
    assert tokenizer.decode(tokenizer.encode("x <unk> y")) == "x <unk> y"


def test_word_save_load_keeps_options_and_conditions(tmp_path):
    conditions = [condition_token("genre", "pop"), condition_token("genre", "metal")]
    tokenizer = WordTokenizer(lowercase=True, min_count=1).fit([TEXT], conditions)
    assert (
        tokenizer.condition_ids == [4, 5]
        and tokenizer.decode([2, 4, tokenizer.index["cat"], 3]) == "cat"
    )
    tokenizer.save(tmp_path / "tokenizer.json")
    loaded = load_tokenizer(tmp_path / "tokenizer.json")
    assert isinstance(loaded, WordTokenizer) and loaded.lowercase
    assert loaded.symbols == tokenizer.symbols and loaded.encode("THE Cat") == tokenizer.encode(
        "the cat"
    )
    assert loaded.condition_id("<genre=metal>") == 5 and loaded.condition_id("cat") is None


def test_bpe_round_trip_is_exact_and_learns_merges(tmp_path):
    text = "The quick brown fox jumps over the lazy dog.\n  Ünïcödé ✓ tabs\tand <unk>\n\n" * 40
    tokenizer = BPETokenizer(320).fit([text], ["<mood=calm>"])
    ids = tokenizer.encode(text)
    assert tokenizer.decode(ids) == text
    assert len(ids) < len(text.encode("utf-8")) / 2  # merges shorten the text
    assert tokenizer.vocab_size <= 320 and tokenizer.condition_ids == [4]
    unseen = "zebra Ω 🦓\n"
    assert tokenizer.decode(tokenizer.encode(unseen)) == unseen and tokenizer.unknown(unseen) == []
    tokenizer.save(tmp_path / "tokenizer.json")
    loaded = load_tokenizer(tmp_path / "tokenizer.json")
    assert loaded.encode(text) == ids and loaded.condition_id("<mood=calm>") == 4
    assert loaded.decode([2, 4] + ids[:5] + [3]) == tokenizer.decode(ids[:5])


def test_build_tokenizer_reads_data_options():
    word = build_tokenizer("word", DataConfig(level="word", lowercase=True, min_count=3))
    assert word.lowercase and word.min_count == 3
    assert build_tokenizer("bpe", DataConfig(bpe_vocab_size=500)).target_size == 500
    with pytest.raises(RecurError, match="--vocab-size must be at least"):
        build_tokenizer("bpe", DataConfig(bpe_vocab_size=10))
