"""--validation-file: all of the training text trains, and the named file validates."""

import numpy as np
import pytest

from recur.config.options import DataConfig
from recur.errors import RecurError
from recur.lm.corpus import prepare_corpus
from tests.conftest import tiny_text


def _files(tmp_path):
    train, valid = tmp_path / "train.txt", tmp_path / "valid.txt"
    train.write_text(tiny_text(200, seed=0))
    valid.write_text(tiny_text(30, seed=1) + "zebra quagga\n")  # words the training text lacks
    return train, valid


@pytest.mark.parametrize("level", ["char", "word", "bpe"])
@pytest.mark.parametrize("cached", [True, False])
def test_the_whole_text_trains_and_the_file_validates(tmp_path, level, cached):
    train, valid = _files(tmp_path)
    data = DataConfig(paths=[str(train)], level=level, validation_file=str(valid))
    if level == "bpe":
        data.bpe_vocab_size = 300
    corpus = prepare_corpus(data, cache_dir=tmp_path / "run" if cached else None)
    tokenizer = corpus.tokenizer
    whole = tokenizer.encode_array(train.read_text())
    assert np.array_equal(np.asarray(corpus.train_ids[: len(corpus.train_ids)]), whole)
    assert np.array_equal(np.asarray(corpus.val_ids), tokenizer.encode_array(valid.read_text()))
    assert 0 < corpus.val_characters <= len(valid.read_text())
    if level == "word":  # fitted on the training text only: the validation's new words are <unk>
        assert "zebra" not in tokenizer.index
        assert tokenizer.unk_id in corpus.val_ids.tolist()


def test_documents_and_missing_files_are_refused_in_one_line(tmp_path):
    train, valid = _files(tmp_path)
    songs = tmp_path / "songs.csv"
    songs.write_text("lyrics\nla la\nda da\n")
    with pytest.raises(RecurError, match="plain text, not documents"):
        prepare_corpus(DataConfig(paths=[str(songs)], validation_file=str(valid)))
    with pytest.raises(RecurError, match="--validation-file .*nothere.txt: no such file"):
        prepare_corpus(
            DataConfig(paths=[str(train)], validation_file=str(tmp_path / "nothere.txt"))
        )
