"""Tokenizers: text <-> token ids, fitted on the training split and saved as ``tokenizer.json``.

Every tokenizer has ``fit(texts, conditions)``, ``encode(text)``, ``encode_array(text)``,
``unknown(text)``, ``decode(ids)``, ``vocab_size``, the special ids (``pad_id``, ``unk_id``,
``bos_id``, ``eos_id``), condition tokens (``conditions``, ``condition_id(token)``) and
``save(path)``; ``load_tokenizer(path)`` reads any of them back. The JSON file is all that
generation needs: no vocabulary lives elsewhere. Levels: char.py, word.py, bpe.py; music's event
vocabulary is ``MidiTokenizer`` in midi.py; a numeric-sequence run's scaling is ``SeriesScaler``
in scaler.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from recur.errors import RecurError
from recur.tokenizers.base import SPECIALS, condition_token, count_words
from recur.tokenizers.bpe import BPETokenizer
from recur.tokenizers.char import CharTokenizer
from recur.tokenizers.midi import MidiTokenizer
from recur.tokenizers.scaler import SeriesScaler
from recur.tokenizers.word import WordTokenizer

TOKENIZERS = {
    cls.kind: cls
    for cls in (CharTokenizer, WordTokenizer, BPETokenizer, MidiTokenizer, SeriesScaler)
}
# --split-punctuation as the word tokenizer takes it (saved configs may hold true/false).
SPLIT_CHOICES: dict[str, bool | str] = {"yes": True, "no": False, "auto": "auto"}

__all__ = [
    "SPECIALS",
    "TOKENIZERS",
    "BPETokenizer",
    "CharTokenizer",
    "MidiTokenizer",
    "WordTokenizer",
    "build_tokenizer",
    "condition_token",
    "count_words",
    "load_tokenizer",
    "tokenizer_from_dict",
]


def tokenizer_from_dict(values: dict):
    kind = values.get("type")
    if kind not in TOKENIZERS:
        raise RecurError(f"unknown tokenizer type {kind!r} in tokenizer.json")
    return TOKENIZERS[kind].from_dict(values)


def load_tokenizer(path: str | Path):
    try:
        values = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RecurError(f"{path}: cannot read the tokenizer ({error})") from None
    if not isinstance(values, dict):
        raise RecurError(f"{path}: a tokenizer is a JSON object, not {type(values).__name__}")
    try:
        return tokenizer_from_dict(values)
    except RecurError as error:
        raise RecurError(f"{path}: {error}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise RecurError(
            f"{path}: not a tokenizer this version can read ({type(error).__name__}: {error}); "
            "restore the file from a copy of the run"
        ) from None


def build_tokenizer(level: str, data=None):
    """An unfitted tokenizer of ``level``, with the word / BPE options of a ``DataConfig``."""
    if level not in TOKENIZERS or level in ("midi", "series"):
        raise RecurError(f"unknown --level {level!r}; choose from {', '.join(TOKENIZERS)}")
    if data is None or level == "char":
        return TOKENIZERS[level]()
    if level == "word":
        if data.min_count < 1 or data.max_vocab < 0:
            raise RecurError("--min-count must be >= 1 and --max-vocab >= 0")
        return WordTokenizer(
            lowercase=data.lowercase,
            split_punctuation=SPLIT_CHOICES.get(data.split_punctuation, data.split_punctuation),
            min_count=data.min_count,
            max_vocab=data.max_vocab,
        )
    if data.bpe_vocab_size < 300:
        raise RecurError("--vocab-size must be at least 300 (256 bytes, specials and merges)")
    return BPETokenizer(data.bpe_vocab_size)
