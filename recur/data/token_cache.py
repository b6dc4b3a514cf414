"""Big inputs: character-level text files -> a token-id file built once, read back by position.

The text is never held whole: files are decoded in blocks of ``BLOCK_CHARS`` characters.
Pass 1 counts characters, pass 2 collects the characters of the training split (the first
``1 - val_fraction`` of them), pass 3 writes the ids (uint8, uint16 or uint32 by vocabulary size).
``TokenFile`` then serves slices with positioned reads, so training memory stays flat however big
the corpus is (a memory map would count every page it touched as resident memory).
The cache lives in the run directory and is reused when the inputs have not changed.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from recur.data.readers import (
    BINARY_PROBE_BYTES,
    binary_file,
    collect_files,
    is_utf16,
    not_valid,
    unknown_encoding,
)
from recur.errors import RecurError
from recur.tokenizers import CharTokenizer

BLOCK_BYTES = 1 << 24
BMP = 1 << 16
CR, LF = 13, 10


class TokenFile:
    """A read-only 1-D id array in a file; ``ids[a:b]`` reads just those ids."""

    def __init__(self, path: Path, dtype: str, start: int = 0, stop: int | None = None):
        self.path, self.dtype = Path(path), np.dtype(dtype)
        total = self.path.stat().st_size // self.dtype.itemsize
        self.start, self.stop = start, total if stop is None else stop
        self.handle = open(self.path, "rb")

    def __len__(self) -> int:
        return self.stop - self.start

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            key = int(key) + (len(self) if key < 0 else 0)
            return self[key : key + 1][0]
        first, last, step = key.indices(len(self))
        if step != 1:
            raise IndexError("TokenFile slices take no step")
        if last <= first:
            return np.empty(0, self.dtype)
        data = os.pread(
            self.handle.fileno(),
            (last - first) * self.dtype.itemsize,
            (self.start + first) * self.dtype.itemsize,
        )
        return np.frombuffer(data, self.dtype)

    def split(self, at: int) -> tuple[TokenFile, TokenFile]:
        return (
            TokenFile(self.path, self.dtype.str, self.start, self.start + at),
            TokenFile(self.path, self.dtype.str, self.start + at, self.stop),
        )


def iter_blocks(paths, glob: str, encoding: str) -> Iterator[np.ndarray]:
    """The code points of every input file, in blocks, as ``read_texts`` would join them."""
    for path in collect_files(paths, glob):
        yield from _file_blocks(path, encoding)


# Encodings in which a byte below 0x80 is that ASCII character and nothing else.
ASCII_COMPATIBLE = {"utf8", "ascii", "latin1", "iso88591", "cp1252", "usascii"}


def _file_blocks(path: Path, encoding: str) -> Iterator[np.ndarray]:
    """Code points of one file in blocks: uint8 arrays straight from the bytes while a block is
    pure ASCII (no decoding, no 4-byte expansion), uint32 arrays of decoded text otherwise."""
    try:
        decoder = codecs.getincrementaldecoder(encoding)("strict")
    except LookupError:
        raise unknown_encoding(encoding) from None
    ascii_fast = encoding.lower().replace("-", "").replace("_", "") in ASCII_COMPATIBLE
    offset, pending, visible, last = 0, np.empty(0, np.uint8), False, 0
    with open(path, "rb") as handle:
        while True:
            data = handle.read(BLOCK_BYTES)
            if offset == 0:
                nul = data.find(b"\x00", 0, BINARY_PROBE_BYTES)
                if nul >= 0 and not is_utf16(encoding):
                    raise binary_file(path, f"at offset {nul}")
            if ascii_fast and data.isascii() and not decoder.getstate()[0]:
                points = np.frombuffer(data, dtype=np.uint8)
            else:
                try:
                    points = _codepoints(decoder.decode(data, final=not data))
                except UnicodeDecodeError as error:
                    at = offset + error.start - len(decoder.getstate()[0])
                    raise not_valid(path, f"byte {max(at, offset)}", encoding) from None
            offset += len(data)
            points = np.concatenate([pending, points]) if len(pending) else points
            # Hold back a trailing "\r": its "\n" may open the next block.
            if data and len(points) and points[-1] == CR:
                points, pending = points[:-1], points[-1:]
            else:
                pending = np.empty(0, np.uint8)
            points = _unix_line_ends(points)
            visible = visible or bool((points > 32).any())
            if len(points):
                last = int(points[-1])
                yield points
            if not data:
                break
    if not visible:
        raise RecurError(f"{path}: the file is empty")
    if last != LF:
        yield np.array([LF], dtype=np.uint8)


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _unix_line_ends(points: np.ndarray) -> np.ndarray:
    """ "\r\n" -> "\n" (a lone "\r" stays)."""
    if not (points == CR).any():
        return points
    keep = np.ones(len(points), dtype=bool)
    keep[:-1] = ~((points[:-1] == CR) & (points[1:] == LF))
    return points[keep]


def _train_characters(blocks: Iterator[np.ndarray], limit: int) -> list[str]:
    """Distinct characters among the first ``limit`` characters of the stream."""
    present, astral, seen = np.zeros(BMP, dtype=bool), set(), 0
    for points in blocks:
        if seen >= limit:
            break
        points = points[: limit - seen]
        seen += len(points)
        if points.dtype == np.uint8:
            present[:256] |= np.bincount(points, minlength=256) > 0
            continue
        small = points[points < BMP] if points.max(initial=0) >= BMP else points
        present[small] = True
        astral.update(points[points >= BMP].tolist())
    return [chr(c) for c in np.flatnonzero(present).tolist() + sorted(astral)]


def _write_ids(blocks: Iterator[np.ndarray], tokenizer: CharTokenizer, path: Path, dtype) -> int:
    table = np.full(BMP, tokenizer.unk_id, dtype=dtype)
    for symbol, index in tokenizer.index.items():
        if len(symbol) == 1 and ord(symbol) < BMP:
            table[ord(symbol)] = index
    count = 0
    with open(path, "wb") as handle:
        for points in blocks:
            ids = table[points] if points.dtype == np.uint8 else table[np.minimum(points, BMP - 1)]
            astral = np.flatnonzero(points >= BMP) if points.dtype != np.uint8 else ()
            for at in astral:  # characters beyond the BMP: rare, by lookup
                ids[at] = tokenizer.index.get(chr(points[at]), tokenizer.unk_id)
            handle.write(ids.tobytes())
            count += len(ids)
    return count


def _signature(paths, glob: str, encoding: str, val_fraction: float) -> dict:
    files = [str(p.resolve()) for p in collect_files(paths, glob)]
    stats = [(os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in files]
    digest = hashlib.sha256(json.dumps([files, stats, encoding, val_fraction]).encode()).hexdigest()
    return {"digest": digest, "files": len(files), "bytes": sum(size for size, _ in stats)}


def build_cache(
    paths, glob: str, encoding: str, val_fraction: float, directory: Path
) -> tuple[CharTokenizer, TokenFile, TokenFile]:
    """Tokenizer (fitted on the training split) and the train / validation ids, on disk."""
    directory = Path(directory)
    signature = _signature(paths, glob, encoding, val_fraction)
    meta_path, ids_path = directory / "cache.json", directory / "ids.bin"
    if meta_path.is_file() and ids_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError:  # cut short by a crash: built again below
            meta = {}
        if isinstance(meta, dict) and meta.get("signature") == signature:
            tokenizer = CharTokenizer(meta["symbols"])
            return (tokenizer, *TokenFile(ids_path, meta["dtype"]).split(meta["split"]))
    directory.mkdir(parents=True, exist_ok=True)
    total = sum(len(points) for points in iter_blocks(paths, glob, encoding))  # pass 1
    split = int(total * (1.0 - val_fraction))
    tokenizer = CharTokenizer(_train_characters(iter_blocks(paths, glob, encoding), split))
    dtype = (
        np.uint8
        if tokenizer.vocab_size <= 256
        else (np.uint16 if tokenizer.vocab_size <= BMP else np.uint32)
    )
    temporary = directory / f"ids.bin.tmp-{os.getpid()}"
    written = _write_ids(iter_blocks(paths, glob, encoding), tokenizer, temporary, dtype)
    if written != total:
        raise RecurError("the input files changed while they were being read; try again")
    os.replace(temporary, ids_path)
    meta = {
        "signature": signature,
        "dtype": np.dtype(dtype).str,
        "split": split,
        "symbols": tokenizer.to_dict()["symbols"],
    }
    temporary = meta_path.with_name(f"{meta_path.name}.tmp-{os.getpid()}")
    temporary.write_text(json.dumps(meta, ensure_ascii=False))
    os.replace(temporary, meta_path)  # whole or absent, whatever a crash interrupts
    return (tokenizer, *TokenFile(ids_path, meta["dtype"]).split(split))
