"""Big plain-text files at word or BPE level -> token ids on disk, built once, read by position.

The text arrives in blocks (token_cache.iter_blocks: the files joined as ``read_texts`` joins
them, line ends made Unix) and is cut into segments right after a line end that has a non-space
character on both sides, where no word or BPE piece can cross. Pass 1 counts the characters and
puts the train / validation cut where ``split_text`` puts it; pass 2 fits the tokenizer on the
training segments as they stream past; pass 3 encodes every segment into ``ids.bin``, training
ids first. The ids are those of the in-memory path. The cache folder is shared with the document
caches (document_cache.py), keyed the same way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator

import numpy as np

from recur.data.document_cache import open_cache, signature, temporary_folder, tokens_dir
from recur.data.token_cache import TokenFile, iter_blocks
from recur.tokenizers import build_tokenizer

SAFE_CUT = re.compile(r"(?<=\S\n)(?=\S)")
TAIL = 1 << 16  # characters searched for the last safe cut of a block


def _text(points: np.ndarray) -> str:
    if points.dtype == np.uint8:
        return points.tobytes().decode("latin-1")
    return points.astype(np.uint32).tobytes().decode("utf-32-le")


def segments(data, cut: int) -> Iterator[tuple[str, bool]]:
    """(text, in the training split) pieces of the whole text, cut exactly at ``cut`` and
    elsewhere only at safe places."""
    carry, at = "", 0  # at: characters before carry
    for points in iter_blocks(data.paths, data.glob, data.encoding):
        carry += _text(points)
        if at <= cut < at + len(carry):  # the split lies here: both sides end exactly at it
            yield carry[: cut - at], True
            carry, at = carry[cut - at :], cut
        found = [m.start() for m in SAFE_CUT.finditer(carry, max(len(carry) - TAIL, 0))]
        if found and found[-1] > 0:
            yield carry[: found[-1]], at < cut
            carry, at = carry[found[-1] :], at + found[-1]
    if carry:
        yield carry, at < cut


def cached_text(data, tokenizer=None):
    """(tokenizer, train ids, validation ids, validation characters) of ``data.paths``."""
    folder = tokens_dir() / signature(data)[:32]
    meta, fitted = open_cache(folder, lambda: _build(data, folder), tokenizer)
    train, val = TokenFile(folder / "ids.bin", meta["dtype"]).split(meta["split"])
    return fitted, train, val, meta["val_characters"]


def _build(data, folder) -> None:
    temporary = temporary_folder(folder)
    try:
        total = sum(len(p) for p in iter_blocks(data.paths, data.glob, data.encoding))  # pass 1
        cut = int(total * (1.0 - data.val_fraction))
        tokenizer = build_tokenizer(data.level, data).fit(  # pass 2
            text for text, training in segments(data, cut) if training
        )
        dtype = np.dtype(np.uint16 if tokenizer.vocab_size <= 1 << 16 else np.uint32)
        split, first_val = 0, None
        with open(temporary / "train.bin", "wb") as train, open(temporary / "val.bin", "wb") as val:
            for text, training in segments(data, cut):  # pass 3
                ids = tokenizer.encode_array(text)
                (train if training else val).write(ids.astype(dtype).tobytes())
                split += len(ids) if training else 0
                if not training and first_val is None and len(ids):
                    first_val = int(ids[0])
        with (
            open(temporary / "train.bin", "ab") as joined,
            open(temporary / "val.bin", "rb") as tail,
        ):
            shutil.copyfileobj(tail, joined, 1 << 24)
        os.replace(temporary / "train.bin", temporary / "ids.bin")
        (temporary / "val.bin").unlink()
        start = len(tokenizer.decode([first_val])) if first_val is not None else 0
        meta = {
            "dtype": dtype.str,
            "split": split,
            "val_characters": total - cut - start,
            "tokenizer": tokenizer.to_dict(),
        }
        (temporary / "cache.json").write_text(json.dumps(meta, ensure_ascii=False))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(temporary, folder)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
