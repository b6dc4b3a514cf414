"""Features of a text, and the discovery of a unit with a planted correlation."""

import numpy as np

from recur.inspect.capture import Layer
from recur.inspect.discovery import correlations, top_units, unit_matrix
from recur.inspect.features import char_features, token_features, token_spans
from recur.tokenizers.char import CharTokenizer
from recur.tokenizers.word import WordTokenizer
from tests.conftest import tiny_text


def test_character_features():
    text = 'ab(c[d])e "Qu 7"\nxy'
    f = char_features(text)
    assert f["bracket depth"][text.index("d")] == 2 and f["bracket depth"][text.index("e")] == 0
    assert f["inside brackets"][text.index("c")] == 1 and f["inside brackets"][0] == 0
    assert f["inside quotes"][text.index("Q")] == 1 and f["inside quotes"][text.index("e")] == 0
    assert f["position in line"][text.index("x")] == 0 and f["position in line"][2] == 2
    assert f["characters left in line"][text.index("\n") - 1] == 1
    assert f["characters left in line"][text.index("y")] == 1
    assert f["upper case"][text.index("Q")] == 1 and f["digit"][text.index("7")] == 1
    assert list(f["start of word"][:3]) == [1, 0, 0] and f["vowel"][text.index("u")] == 1


def test_word_features_have_sentence_position():
    text = "the cat sat. a dog ran far."
    tokenizer = WordTokenizer().fit([text])
    ids = tokenizer.encode(text)
    spans = token_spans(tokenizer, text, ids)
    assert [text[a:b] for a, b in spans][:4] == ["the", "cat", "sat", "."]
    position = token_features(text, spans, words=True)["position in sentence"]
    assert list(position) == [0, 1, 2, 3, 0, 1, 2, 3, 4]


def test_a_planted_unit_is_discovered():
    text = tiny_text(60)
    tokenizer = CharTokenizer().fit([text])
    features = token_features(text, token_spans(tokenizer, text, tokenizer.encode(text)), False)
    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(len(text), 16)).astype(np.float32)
    hidden[:, 11] = features["position in line"] / 40 + rng.normal(0, 0.05, len(text))
    cell = rng.normal(size=(len(text), 16)).astype(np.float32)
    cell[:, 3] = -features["start of word"] + rng.normal(0, 0.3, len(text))
    layer = Layer("1", "lstm", states={"h": hidden, "c": cell})
    units, names = unit_matrix([layer])
    correlation = correlations(features, units)
    listed = {entry["feature"]: entry["units"] for entry in top_units(correlation, names, 3)}
    assert listed["position in line"][0]["unit"] == "1:h:11"
    assert listed["position in line"][0]["r"] > 0.9
    assert listed["start of word"][0]["unit"] == "1:c:3"
    assert listed["start of word"][0]["r"] < -0.5
    assert abs(listed["vowel"][0]["r"]) < 0.3  # nothing planted there
    expected = np.corrcoef(features["vowel"], units[:, 5])[0, 1]
    assert abs(correlation["vowel"][5] - expected) < 1e-5


def test_constant_and_undefined_features_are_left_out():
    units = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    partial = np.full(50, np.nan, dtype=np.float32)
    partial[::2] = np.arange(25)
    units[::2, 2] = np.arange(25)
    correlation = correlations({"flat": np.zeros(50, np.float32), "half": partial}, units)
    assert set(correlation) == {"half"} and correlation["half"][2] > 0.999
