"""Simple features of a text, per token, that units may track (Karpathy, Johnson and Fei-Fei
2015): inside quotes, inside brackets and their depth, position in the line and characters left
before its end, start of a word, vowel, upper case, digit; for word models the position in the
sentence. A token's value is the value at its first character; NaN marks "not defined here"."""

from __future__ import annotations

import re

import numpy as np

from recur.tokenizers.word import SPLIT, WHOLE

OPENERS, CLOSERS = "([{", ")]}"
QUOTES = {'"': '"', "“": "”"}
SENTENCE_END = re.compile(r"[.!?]+|\n")


def token_spans(tokenizer, text: str, ids: list[int]) -> list[tuple[int, int]]:
    """(start, end) character offsets of each token of ``text``: one character each at the
    character level, the tokenizer's own split for words, decoded pieces for BPE."""
    kind = getattr(tokenizer, "kind", "")
    if kind == "char":
        return [(i, i + 1) for i in range(len(text))]
    if kind == "word":
        pattern = SPLIT if tokenizer.split_punctuation else WHOLE
        spans = [m.span() for m in pattern.finditer(text.lower() if tokenizer.lowercase else text)]
        if len(spans) == len(ids):
            return spans
    spans, position = [], 0
    for token in ids:
        piece = tokenizer.decode([token])
        found = text.find(piece, position) if piece else -1
        start = found if found >= 0 else position
        end = min(len(text), start + len(piece))
        spans.append((start, end))
        position = end
    return spans


def char_features(text: str) -> dict[str, np.ndarray]:
    """Per character: the value of every feature (float32)."""
    n = len(text)
    quote, depth, column = np.zeros(n), np.zeros(n), np.zeros(n)
    closing, level, col = None, 0, 0
    for i, ch in enumerate(text):
        if closing is not None and ch == closing:
            closing = None
        elif closing is None and ch in QUOTES:
            closing = QUOTES[ch]
        if ch in CLOSERS:
            level = max(0, level - 1)
        quote[i], depth[i], column[i] = closing is not None, level, col
        if ch in OPENERS:
            level += 1
        col = 0 if ch == "\n" else col + 1
    codes = np.array([ord(ch) for ch in text], dtype=np.int64)
    newline = np.flatnonzero(codes == 10)
    following = np.searchsorted(newline, np.arange(n))
    line_end = np.append(newline, n)[following]
    alnum = np.array([ch.isalnum() for ch in text], dtype=bool)
    before = np.concatenate([[False], alnum[:-1]]) if n else alnum
    return {
        "inside quotes": quote,
        "inside brackets": (depth > 0).astype(float),
        "bracket depth": depth,
        "position in line": column,
        "characters left in line": (line_end - np.arange(n)).astype(float),
        "start of word": (alnum & ~before).astype(float),
        "vowel": np.array([ch in "aeiouAEIOU" for ch in text], dtype=float),
        "upper case": np.array([ch.isupper() for ch in text], dtype=float),
        "digit": np.array([ch.isdigit() for ch in text], dtype=float),
    }


def token_features(text: str, spans: list[tuple[int, int]], words: bool) -> dict[str, np.ndarray]:
    """Per token: each character feature at its first character; word models also get the
    position in the sentence (tokens since the last . ! ? or line end)."""
    starts = np.array([min(start, max(len(text) - 1, 0)) for start, _ in spans], dtype=np.int64)
    features = {name: values[starts] for name, values in char_features(text).items()}
    if words:
        features.pop("vowel")
        position, count = np.zeros(len(spans)), 0
        for index, (start, end) in enumerate(spans):
            position[index] = count
            count = 0 if SENTENCE_END.fullmatch(text[start:end] or " ") else count + 1
        features["position in sentence"] = position
    return {name: values.astype(np.float32) for name, values in features.items()}
