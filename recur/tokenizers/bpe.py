"""Subword tokenizer: byte-level BPE trained with the ``tokenizers`` library on the training split.

Byte-level means every string encodes (nothing is unknown) and decoding gives back the exact text.
The special and condition tokens are the library's special tokens, so they keep ids 0, 1, 2, 3, ...
The whole ``tokenizers`` model is stored inside ``tokenizer.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from recur.tokenizers.base import SPECIALS, SpecialIds, iter_pieces


class BPETokenizer(SpecialIds):
    """``vocab_size`` ids in all: specials, conditions, 256 bytes and the learned merges."""

    kind = "bpe"
    unit = "characters"

    def __init__(self, target_size: int = 8000, conditions: Sequence[str] = (), model=None):
        self.target_size, self.conditions, self.model = target_size, list(conditions), model

    def fit(self, texts: Iterable[str], conditions: Sequence[str] = ()) -> BPETokenizer:
        self.conditions = list(conditions)
        model = Tokenizer(models.BPE())
        model.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        model.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=self.target_size,
            special_tokens=list(SPECIALS) + self.conditions,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        model.train_from_iterator(iter_pieces(texts), trainer)
        self.model = model
        return self

    @property
    def vocab_size(self) -> int:
        return self.model.get_vocab_size()

    def condition_id(self, token: str) -> int | None:
        return self.model.token_to_id(token) if token in self.conditions else None

    @property
    def condition_ids(self) -> list[int]:
        return [self.model.token_to_id(token) for token in self.conditions]

    def hidden_ids(self) -> set[int]:
        return {self.pad_id, self.bos_id, self.eos_id, *self.condition_ids}

    def encode(self, text: str) -> list[int]:
        return self.encode_array(text).tolist()

    def encode_array(self, text: str) -> np.ndarray:
        pieces = list(iter_pieces([text]))
        ids = [
            encoding.ids for encoding in self.model.encode_batch(pieces, add_special_tokens=False)
        ]
        return np.fromiter((i for row in ids for i in row), dtype=np.int32)

    def unknown(self, text: str) -> list[str]:
        return []  # byte-level: every string has an encoding

    def decode(self, ids: Iterable[int]) -> str:
        skip = self.hidden_ids()
        return self.model.decode([i for i in ids if i not in skip], skip_special_tokens=False)

    def to_dict(self) -> dict:
        return {
            "type": self.kind,
            "target_size": self.target_size,
            "conditions": self.conditions,
            "model": json.loads(self.model.to_str()),
        }

    @classmethod
    def from_dict(cls, values: dict) -> BPETokenizer:
        model = Tokenizer.from_str(json.dumps(values["model"]))
        return cls(values["target_size"], values.get("conditions", ()), model)

    def save(self, path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")
