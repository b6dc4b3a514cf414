"""--split-punctuation auto|yes|no: pre-tokenised text is split at spaces only (standard token
counts), prose at punctuation; the choice is kept in tokenizer.json, and older runs keep theirs."""

import json
import random

import pytest

import recur
from recur.config.options import DataConfig, from_dict
from recur.errors import RecurError
from recur.tokenizers import WordTokenizer, build_tokenizer, tokenizer_from_dict
from recur.tokenizers.word import detect_split
from tests.conftest import plain_word_options

# As Penn Treebank writes it: lower case, no commas or full stops, clitics and $ standing alone.
PTB = (
    " the company 's shares fell $ N to <unk> \n"
    " mr. <unk> said he does n't expect a s&p rebound \n"
    " investors were n't told of the <unk> plan 's cost \n"
)
# As WikiText writes it: punctuation and @-@ between spaces.
WIKI = (
    " = Valkyria Chronicles = \n \n The game , released in 2011 , sold 1 @,@ 000 copies . \n"
    " Its <unk> @-@ based battle system ( called BLiTZ ) returned . \n"
)
PROSE = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n"
    'All:\nSpeak, speak. "We know\'t," he said (quietly)!\n'
)


def shuffled_lines(text: str, lines: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    pool = text.splitlines(keepends=True)
    return "".join(rng.choice(pool) for _ in range(lines))


@pytest.mark.parametrize(
    "text, split", [(PTB, False), (WIKI, False), (PROSE, True), ("no punctuation here\n", True)]
)
def test_auto_reads_whether_punctuation_already_stands_alone(text, split):
    chosen, note = detect_split(text * 3)
    assert chosen is split
    assert note.startswith("auto:") and ("already tokenised" in note) is not split


def test_auto_gives_the_standard_whitespace_count_of_a_pre_tokenised_corpus():
    text = shuffled_lines(PTB, 60)
    tokenizer = build_tokenizer("word", DataConfig()).fit([text])
    assert tokenizer.split_punctuation is False
    standard = sum(len(line.split()) + 1 for line in text.splitlines())  # words + <eos>
    assert len(tokenizer.encode(text)) == standard
    assert "'s" in tokenizer.index and "n't" in tokenizer.index and "<" not in tokenizer.index


def test_auto_on_prose_splits_as_yes_does_and_no_loses_nothing_from_a_stream():
    texts = PROSE.splitlines(keepends=True) * 4
    auto = build_tokenizer("word", DataConfig()).fit(iter(texts))
    always = build_tokenizer("word", from_dict(DataConfig, {"split_punctuation": "yes"}))
    assert auto.split_punctuation is True
    assert auto.symbols == always.fit(texts).symbols
    never = build_tokenizer("word", from_dict(DataConfig, {"split_punctuation": "no"})).fit(texts)
    assert never.split_punctuation is False and "further," in never.index


def test_the_choice_and_its_reason_survive_a_save_and_older_tokenizers_keep_theirs():
    fitted = build_tokenizer("word", DataConfig()).fit([WIKI * 5])
    loaded = tokenizer_from_dict(json.loads(json.dumps(fitted.to_dict())))
    assert loaded.split_punctuation is False and loaded.split_note == fitted.split_note
    assert "at spaces only" in loaded.describe() and "already tokenised" in loaded.describe()
    older = {k: v for k, v in WordTokenizer().fit([PROSE]).to_dict().items() if k != "split_note"}
    assert tokenizer_from_dict(older).words("me, too.") == ["me", ",", "too", "."]


def test_saved_true_false_load_and_a_bad_value_names_the_flag():
    assert from_dict(DataConfig, {"split_punctuation": False}).split_punctuation is False
    assert build_tokenizer("word", from_dict(DataConfig, {"split_punctuation": False})).fit(
        [PROSE]
    ).words("a, b") == ["a,", "b"]
    with pytest.raises(RecurError, match="--split-punctuation 'maybe': choose auto, yes or no"):
        from_dict(DataConfig, {"split_punctuation": "maybe"})


def test_a_training_run_says_how_it_split_and_evaluates_on_the_standard_count(tmp_path, capsys):
    corpus = tmp_path / "ptb.txt"
    corpus.write_text(shuffled_lines(PTB, 200))
    options = {**plain_word_options(), "hidden_size": 16, "num_layers": 1, "seq_length": 8}
    recur.train(str(corpus), out=str(tmp_path / "run"), level="word", steps=2, samples=0,
                threads=1, **{**options, "batch_size": 4})  # fmt: skip
    assert "words split at spaces only (auto: the text is already tokenised" in (
        capsys.readouterr().err
    )
    saved = json.loads((tmp_path / "run" / "last" / "tokenizer.json").read_text())
    assert saved["split_punctuation"] is False
