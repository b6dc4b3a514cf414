"""Word vectors from the training split (--embedding-init svd) and how a classifier starts
from them."""

import random

import numpy as np
import pytest
import torch

import recur
from recur.classify.word_vectors import ppmi_svd
from recur.config.options import ClassifierConfig, ModelConfig
from recur.errors import RecurError
from recur.models.classifier import build_classifier
from tests.classify.test_classifier import TINY, topic_rows, write_csv

WORDS = {"road": "truck tractor dirt road dust".split(), "sea": "ocean sea wave salt tide".split()}


def texts_of_two_topics(count=200, seed=0):
    """Id arrays (ids from 4 up, after the specials): each text mixes the words of one topic."""
    rng = random.Random(seed)
    vocabulary = [word for words in WORDS.values() for word in words]
    index = {word: 4 + i for i, word in enumerate(vocabulary)}
    texts = []
    for i in range(count):
        words = WORDS["road" if i % 2 else "sea"]
        texts.append(np.array([index[rng.choice(words)] for _ in range(12)]))
    return texts, index, 4 + len(vocabulary)


def cosine(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_words_used_alike_get_alike_vectors_seeded_and_scaled():
    texts, index, vocab_size = texts_of_two_topics()
    vectors = ppmi_svd(texts, vocab_size + 2, 4, seed=0)  # two ids that never occur
    assert vectors.shape == (vocab_size + 2, 4) and vectors.dtype == np.float32
    truck, tractor, ocean = (vectors[index[w]] for w in ("truck", "tractor", "ocean"))
    assert cosine(truck, tractor) > 0.9 and cosine(truck, ocean) < 0.2
    assert not vectors[:4].any() and not vectors[-2:].any()  # never seen: left at 0
    assert abs(vectors[4:vocab_size].std() - 1.0) < 1e-4
    assert np.array_equal(vectors, ppmi_svd(texts, vocab_size + 2, 4, seed=0))


def test_start_embedding_keeps_padding_and_unseen_rows():
    model = build_classifier(
        ModelConfig(vocab_size=6, embedding_size=3, hidden_size=4),
        ClassifierConfig(classes=["a", "b"]),
    )
    before = model.embedding.weight.detach().clone()
    vectors = np.zeros((6, 3), dtype=np.float32)
    vectors[0] = vectors[2] = vectors[5] = 7.0
    model.start_embedding(vectors)
    after = model.embedding.weight.detach()
    assert torch.equal(after[0], before[0]) and not after[0].any()  # padding stays 0
    assert torch.equal(after[2], torch.full((3,), 7.0)) and torch.equal(after[5], after[2])
    assert torch.equal(after[[1, 3, 4]], before[[1, 3, 4]])


def test_classifier_starts_from_training_split_vectors(tmp_path, capsys):
    data = write_csv(tmp_path / "train.csv", topic_rows(60))
    options = dict(text_column="text", label_column="label", steps=2, **{**TINY, "quiet": False})
    recur.train(data, out=str(tmp_path / "svd"), **options)
    assert "PPMI + SVD word vectors of the training split" in capsys.readouterr().err
    recur.train(data, out=str(tmp_path / "random"), embedding_init="random", **options)
    assert "PPMI" not in capsys.readouterr().err
    first, second = (
        recur.load(tmp_path / name / "last").bundle.model.embedding.weight
        for name in ("svd", "random")
    )
    assert not torch.allclose(first, second, atol=0.1)


def test_counting_in_chunks_changes_nothing():
    from recur.classify.word_vectors import cooccurrence

    texts, _, vocab_size = texts_of_two_topics(count=30)
    whole = cooccurrence(texts, vocab_size).toarray()
    assert np.allclose(whole, cooccurrence(texts, vocab_size, chunk_tokens=25).toarray())
    assert np.allclose(whole, whole.T) and whole.sum() > 0


def test_vectors_from_counts_unlabelled_lines_and_names_a_bad_line(tmp_path, capsys):
    data = write_csv(tmp_path / "train.csv", topic_rows(60))
    extra = tmp_path / "more.txt"
    extra.write_text("bread soup rice\n\nfootball goal match\nsoup rice bread\n", encoding="utf-8")
    options = dict(text_column="text", label_column="label", steps=2, **{**TINY, "quiet": False})
    recur.train(data, out=str(tmp_path / "more"), vectors_from=str(extra), **options)
    assert "and 3 lines of" in capsys.readouterr().err
    recur.train(data, out=str(tmp_path / "plain"), **options)
    first, second = (
        recur.load(tmp_path / name / "last").bundle.model.embedding.weight
        for name in ("more", "plain")
    )
    assert not torch.allclose(first, second, atol=1e-3)
    extra.write_bytes(b"bread soup\nrice \xe9 goal\n")
    with pytest.raises(RecurError, match=r"more.txt: line 2 is not valid utf-8"):
        recur.train(data, out=str(tmp_path / "bad"), vectors_from=str(extra), **options)
