"""Document models end to end through the Python API: conditional training and generation,
bounded documents, the novelty report and evaluation at every level."""

import csv
import random

import pytest

import recur
from recur.errors import RecurError
from tests.conftest import TINY_OPTIONS

WORDS = {
    "pop": "love baby dance night heart".split(),
    "metal": "fire death steel blood iron".split(),
}


def one_line_song(rng, words: list) -> str:
    return " ".join(rng.choice(words) for _ in range(rng.randint(3, 8)))


def write_songs(path, rows=240, seed=0, song=one_line_song, blank_row=True):
    """A genre,lyrics CSV: ``rows`` songs of a random genre, ``song(rng, genre's words)`` each,
    and (``blank_row``) one pop row with empty lyrics at the end."""
    rng = random.Random(seed)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["genre", "lyrics"])
        for _ in range(rows):
            genre = rng.choice(list(WORDS))
            writer.writerow([genre, song(rng, WORDS[genre])])
        if blank_row:
            writer.writerow(["pop", ""])
    return path


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    return write_songs(tmp_path_factory.mktemp("songs") / "songs.csv")


@pytest.fixture(scope="module")
def conditional(songs):
    options = {**TINY_OPTIONS, "eval_every": "200", "log_every": 50}
    return recur.train(
        songs,
        level="word",
        text_column="lyrics",
        condition_column="genre",
        steps=200,
        out=str(songs.parent / "run"),
        quiet=True,
        **options,
    )


def test_condition_steers_the_words(conditional):
    for genre, words in WORDS.items():
        result = conditional.generate_full(num_samples=10, condition=f"genre={genre}", seed=0)
        assert [c["genre"] for c in result.conditions] == [genre] * 10
        produced = " ".join(result.texts).split()
        share = sum(word in words for word in produced) / len(produced)
        assert share > 0.9, (genre, result.texts)


def test_conditions_are_saved_with_their_counts(conditional):
    counts = conditional.bundle.config["data"]["conditions"]["genre"]
    assert set(counts) == {"pop", "metal"} and sum(counts.values()) == 240
    assert conditional.bundle.config["data"]["documents"] == "rows"


def test_unknown_condition_lists_values_with_counts(conditional):
    counts = conditional.bundle.config["data"]["conditions"]["genre"]
    with pytest.raises(
        RecurError,
        match=rf"unknown genre 'jazz'; valid values: "
        rf"\w+ \({max(counts.values())}\), \w+ \(",
    ):
        conditional.generate(condition="genre=jazz")
    with pytest.raises(RecurError, match=r"unknown condition column 'mood'; the run has genre:"):
        conditional.generate(condition="mood=happy")


def test_bounded_generation_gives_n_complete_documents_within_bounds(conditional):
    result = conditional.generate_full(
        num_samples=12, min_words=5, max_words=6, unique=True, seed=3
    )
    assert len(result.texts) == 12 and all(result.finished)
    assert all(5 <= len(t.split()) <= 6 for t in result.texts)
    assert len(set(result.texts)) == 12
    assert result.novelty["outputs"] == 12
    assert result.novelty["novel"] + result.novelty["in_training"] == 12


def test_impossible_bounds_are_a_one_line_error(conditional):
    with pytest.raises(RecurError, match="only 0 of 2 samples ended within"):
        conditional.generate(num_samples=2, min_words=40, max_words=50, length=60)
    with pytest.raises(RecurError, match="--min-words 9 is above --max-words 3"):
        conditional.generate(min_words=9, max_words=3)


def test_novelty_counts_copies_of_training_documents(conditional, songs):
    from recur.generate.documents import novelty_report

    first = next(csv.DictReader(open(songs)))["lyrics"]
    report = novelty_report([first, first.upper() + " ", "never seen words"], conditional.path)
    assert report["in_training"] == 2 and report["novel"] == 1


def test_no_repeat_ngram_blocks_repeats(conditional):
    texts = conditional.generate(num_samples=6, no_repeat_ngram=1, seed=1, max_words=5)
    for text in texts:
        assert len(set(text.split())) == len(text.split())


@pytest.mark.parametrize(
    "level, extra", [("char", {}), ("word", {}), ("bpe", {"bpe_vocab_size": 300})]
)
def test_evaluate_reports_every_scale_at_every_level(tmp_path, level, extra):
    from tests.conftest import tiny_text

    path = tmp_path / "tiny.txt"
    path.write_text(tiny_text())
    model = recur.train(
        path,
        level=level,
        steps=10,
        out=str(tmp_path / level),
        quiet=True,
        **{**TINY_OPTIONS, "eval_every": "10"},
        **extra,
    )
    result = model.evaluate(path=path)
    text = path.read_text()
    assert result["level"] == level and result["words"] == len(text.split())
    assert result["characters"] == pytest.approx(len(text), abs=12)
    # One total in nats, three scales: per token, per word, per character.
    total = result["loss"] * result["tokens"]
    assert result["word_perplexity"] == pytest.approx(2.718281828 ** (total / result["words"]))
    assert result["bits_per_char"] == pytest.approx(total / result["characters"] / 0.693147, 1e-4)


def test_document_model_evaluates_csv_documents(conditional, songs):
    result = conditional.evaluate(path=songs)
    assert result["words"] == sum(len(r["lyrics"].split()) for r in csv.DictReader(open(songs)))
    assert result["perplexity"] < 10  # 5 words per genre, learned


def test_lines_document_model_resumes_and_generates_complete_lines(tmp_path):
    from tests.conftest import tiny_text

    path = tmp_path / "lines.txt"
    path.write_text(tiny_text().replace(".\n", ".\n\n"))  # blank lines between documents
    options = {**TINY_OPTIONS, "eval_every": "10"}
    recur.train(
        path,
        documents="lines",
        level="word",
        steps=30,
        stop_after=15,
        out=str(tmp_path / "run"),
        quiet=True,
        **options,
    )
    model = recur.train(resume=str(tmp_path / "run"), quiet=True)
    assert model.bundle.config["data"]["documents"] == "lines"
    assert (tmp_path / "run" / "documents.json").is_file()
    result = model.generate_full(num_samples=4, max_words=30, seed=0)
    assert all(result.finished) and all("\n" not in text for text in result.texts)


def test_condition_every_line_keeps_long_documents_on_their_condition(tmp_path):
    def lines_song(rng, words):
        return "\n".join(
            " ".join(rng.choice(words) for _ in range(3)) for _ in range(rng.randint(2, 5))
        )

    path = write_songs(tmp_path / "songs.csv", rows=150, seed=2, song=lines_song, blank_row=False)
    options = {**TINY_OPTIONS, "eval_every": "200", "log_every": 50}
    model = recur.train(
        path,
        level="word",
        text_column="lyrics",
        condition_column="genre",
        condition_every_line=True,
        steps=200,
        out=str(tmp_path / "run"),
        quiet=True,
        **options,
    )
    result = model.generate_full(num_samples=8, condition="genre=metal", seed=0, length=80)
    produced = " ".join(result.texts).split()
    assert sum(word in WORDS["metal"] for word in produced) / len(produced) > 0.9
    assert any("\n" in text for text in result.texts)
    beamed = " ".join(model.generate(beam=3, condition="genre=metal", length=40)).split()
    assert beamed and all(word in WORDS["metal"] for word in beamed)
    with pytest.raises(RecurError, match="--beam does not support --guidance"):
        model.generate(beam=2, guidance=1.0, condition="genre=metal")
    assert model.evaluate(path=path)["perplexity"] < 10


def test_guidance_steers_harder_towards_the_condition(conditional):
    plain = conditional.generate_full(num_samples=8, condition="genre=pop", seed=3, temperature=1.5)
    guided = conditional.generate_full(
        num_samples=8, condition="genre=pop", seed=3, temperature=1.5, guidance=3.0
    )

    def share(texts):
        words = " ".join(texts).split()
        return sum(word in WORDS["pop"] for word in words) / len(words)

    assert share(guided.texts) >= share(plain.texts) and share(guided.texts) > 0.95
    with pytest.raises(RecurError, match="--guidance needs --condition"):
        conditional.generate(guidance=1.0)


def test_guidance_scores_are_the_log_odds_rule():
    import torch

    from recur.generate.loop import Guidance

    logits = torch.randn(3 * 2, 5)  # 3 groups of 2 samples
    logp = logits.log_softmax(-1)
    contrast = (logp[2:4].exp() + logp[4:6].exp()).div(2).log()
    expected = logp[:2] + 0.5 * (logp[:2] - contrast)
    torch.testing.assert_close(Guidance(0.5, 3).combine(logits), expected)
    assert Guidance().combine(logits) is logits


def test_conditional_char_and_word_models_repeat_the_condition_by_default(conditional, tmp_path):
    assert conditional.bundle.config["data"]["condition_every_line"] is True
    assert conditional.bundle.model.conditioned  # condition_embedding, also a default
    options = {**TINY_OPTIONS, "eval_every": "5"}
    model = recur.train(
        conditional.path.parent.parent / "songs.csv",
        level="word",
        text_column="lyrics",
        condition_column="genre",
        steps=5,
        condition_every_line=False,
        out=str(tmp_path / "off"),
        quiet=True,
        **options,
    )
    assert model.bundle.config["data"]["condition_every_line"] is False
