"""The document token cache: the same ids, tokenizer and batches as the in-memory path; built
once, reused, and rebuilt when a file or a tokenizer setting changes."""

import csv
import random

import numpy as np
import pytest

from recur.config.options import DataConfig
from recur.data import document_cache, text_cache, token_cache
from recur.data.streams import StreamBatches
from recur.lm.corpus import prepare_corpus, prepare_documents

WORDS = "love night road fire heart dream rain gone home baby the a of and".split()


def _songs(path, rows: int = 60, seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["genre", "lyrics", "mood"])
        for i in range(rows):
            lines = [" ".join(rng.choices(WORDS, k=rng.randint(2, 7))) for _ in range(3)]
            genre = rng.choice(["pop", "metal", "country"]) if i % 11 else ""  # some skipped
            writer.writerow([genre, "\n".join(lines) + "!", rng.choice(["sad", "glad"])])


@pytest.fixture
def songs(tmp_path, monkeypatch):
    monkeypatch.setenv("RECUR_TOKEN_CACHE", str(tmp_path / "tokens"))
    path = tmp_path / "songs.csv"
    _songs(path)
    return path


def _both(path, **options):
    cached = DataConfig(paths=[str(path)], text_column="lyrics", **options)
    memory = DataConfig(paths=[str(path)], text_column="lyrics", **options)
    on_disk = prepare_corpus(cached, cache_dir=path.parent / "run")
    memory.documents = "rows"
    in_memory = prepare_documents(memory)
    return cached, on_disk, memory, in_memory


@pytest.mark.parametrize(
    "options",
    [
        {"level": "word", "condition_column": "genre"},
        {"level": "word", "condition_column": "genre", "condition_every_line": True},
        {"level": "word", "where": "mood=sad", "lowercase": True},
        {"level": "bpe", "condition_column": "genre", "bpe_vocab_size": 300},
    ],
)
def test_cached_documents_match_the_in_memory_path(songs, options):
    cached, on_disk, memory, in_memory = _both(songs, **options)
    assert on_disk.tokenizer.to_dict() == in_memory.tokenizer.to_dict()
    assert cached.conditions == memory.conditions
    assert np.array_equal(on_disk.train_ids[0 : len(on_disk.train_ids)], in_memory.train_ids)
    assert np.array_equal(on_disk.val_ids[0 : len(on_disk.val_ids)], in_memory.val_ids)
    assert on_disk.val_characters == in_memory.val_characters
    assert on_disk.documents.count == len(in_memory.documents.texts)
    assert on_disk.documents.skipped == in_memory.documents.skipped
    disk_batches = StreamBatches(on_disk.train_ids, 4, 8, seed=3)
    memory_batches = StreamBatches(in_memory.train_ids, 4, 8, seed=3)
    for epoch in (0, 1):
        for index in range(disk_batches.chunks_per_epoch(epoch)):
            for a, b in zip(disk_batches.chunk(epoch, index), memory_batches.chunk(epoch, index)):
                assert a.equal(b)


def test_cache_is_reused_and_rebuilt_when_inputs_change(songs, monkeypatch):
    builds = []
    real = document_cache._build
    monkeypatch.setattr(document_cache, "_build", lambda *a: builds.append(1) or real(*a))

    def run(**options):
        data = DataConfig(paths=[str(songs)], text_column="lyrics", level="word", **options)
        return prepare_corpus(data, cache_dir=songs.parent / "run")

    first = run()
    run()
    assert len(builds) == 1  # reused
    run(lowercase=True)
    assert len(builds) == 2  # a tokenizer setting
    run(min_count=2)
    assert len(builds) == 3
    _songs(songs, rows=70, seed=1)
    changed = run()
    assert len(builds) == 4  # the file
    assert len(changed.train_ids) != len(first.train_ids)
    run(lowercase=True)  # its own cache, still there
    assert len(builds) == 5  # the file changed since, so this one too
    run(lowercase=True)
    assert len(builds) == 5


def test_resume_with_another_tokenizer_is_refused(songs):
    data = DataConfig(paths=[str(songs)], text_column="lyrics", level="word")
    corpus = prepare_corpus(data, cache_dir=songs.parent / "run")
    other = DataConfig(paths=[str(songs)], text_column="lyrics", level="word", lowercase=True)
    lowered = prepare_corpus(other, cache_dir=songs.parent / "run").tokenizer
    with pytest.raises(Exception, match="training data changed"):
        prepare_corpus(data, lowered, cache_dir=songs.parent / "run")
    assert prepare_corpus(data, corpus.tokenizer, cache_dir=songs.parent / "run")


@pytest.mark.parametrize(
    "options",
    [
        {"level": "word"},
        {"level": "word", "lowercase": True, "split_punctuation": False, "val_fraction": 0.37},
        {"level": "bpe", "bpe_vocab_size": 300},
    ],
)
def test_cached_plain_text_matches_the_in_memory_path(tmp_path, monkeypatch, options):
    monkeypatch.setenv("RECUR_TOKEN_CACHE", str(tmp_path / "tokens"))
    monkeypatch.setattr(text_cache, "TAIL", 40)  # many blocks, many cuts
    monkeypatch.setattr(token_cache, "BLOCK_BYTES", 97)
    rng = random.Random(1)
    lines = [" ".join(rng.choices(WORDS, k=rng.randint(0, 9))) + rng.choice(["", ".", " "])]
    lines += [" ".join(rng.choices(WORDS, k=rng.randint(0, 9))) for _ in range(300)]
    (tmp_path / "a.txt").write_text("\n".join(lines[:150]) + "\r\n  Zoë's  \n")
    (tmp_path / "b.txt").write_text("\n".join(lines[150:]))
    paths = [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    on_disk = prepare_corpus(DataConfig(paths=paths, **options), cache_dir=tmp_path / "run")
    in_memory = prepare_corpus(DataConfig(paths=paths, **options))
    assert isinstance(on_disk.train_ids, token_cache.TokenFile)
    assert on_disk.tokenizer.to_dict() == in_memory.tokenizer.to_dict()
    assert np.array_equal(on_disk.train_ids[0 : len(on_disk.train_ids)], in_memory.train_ids)
    assert np.array_equal(on_disk.val_ids[0 : len(on_disk.val_ids)], in_memory.val_ids)
    assert on_disk.val_characters == in_memory.val_characters


def test_a_killed_build_leaves_nothing_behind(songs, tmp_path):
    stale = tmp_path / "tokens" / f"{'0' * 32}.tmp-999999999"
    stale.mkdir(parents=True)
    data = DataConfig(paths=[str(songs)], text_column="lyrics", level="word")
    prepare_corpus(data, cache_dir=tmp_path / "run")
    folder = tmp_path / "tokens" / document_cache.signature(data)[:32]
    (folder.parent / f"{folder.name}.tmp-999999999").mkdir()
    prepare_corpus(
        DataConfig(paths=[str(songs)], text_column="lyrics", level="word", lowercase=True),
        cache_dir=tmp_path / "run",
    )
    assert stale.exists()  # another folder's: left to its own next build
    data.lowercase = False
    (folder / "cache.json").unlink()  # rebuilt: its dead build's leftovers go
    prepare_corpus(data, cache_dir=tmp_path / "run")
    assert not (folder.parent / f"{folder.name}.tmp-999999999").exists()
    assert sorted(p.name for p in folder.parent.iterdir() if ".tmp-" in p.name) == [stale.name]
