"""Big document corpora (CSV/JSONL rows, lines, blocks) at any level -> framed token ids on disk,
built once in streaming passes and read back by position, as token_cache.py does for characters.

Pass 1 streams the documents (documents.py reads CSV/JSONL row by row) and keeps only numbers: the
count, each document's length in characters, its fingerprint (uint64) and the condition counts.
The seeded document split (streams.split_documents) then says which documents train. Pass 2 fits
the tokenizer on the training documents as they stream past; pass 3 frames and encodes each
document (``<bos> <column=value>... text <eos>``) into a file in file order; pass 4 copies the
documents into ``ids.bin`` in the split's order, training documents first, so the id streams are
exactly those of the in-memory path. No Python object holds the corpus.

The cache lives under ``$RECUR_TOKEN_CACHE`` or ``$XDG_CACHE_HOME/recur/tokens/`` (default
``~/.cache/recur/tokens``), one folder per signature: the files (path, size, modification time)
and every option that changes the ids. A changed file or tokenizer setting builds a new one;
anything else reuses it, from any run directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from array import array
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recur.data.documents import Documents, fingerprint, split_names, stream_documents
from recur.data.readers import collect_files
from recur.data.streams import frame_one, line_end_id, split_documents
from recur.data.token_cache import TokenFile
from recur.errors import RecurError
from recur.tokenizers import build_tokenizer, condition_token, tokenizer_from_dict

VERSION = 1
# The options that change a document corpus's ids (besides the files themselves).
ID_OPTIONS = (
    "glob", "encoding", "level", "lowercase", "split_punctuation", "min_count", "max_vocab",
    "bpe_vocab_size", "documents", "text_column", "separator", "condition_column",
    "condition_every_line", "where", "val_fraction",
)  # fmt: skip


@dataclass
class CachedDocuments:
    """What a run needs of its documents once they are on disk: counts, not texts."""

    count: int
    skipped: int
    filtered: int
    fingerprints: np.ndarray  # uint64, sorted, distinct
    val_characters: int


def signature(data) -> str:
    """The files (path, size, modification time) and the options that change the ids."""
    files = [str(p.resolve()) for p in collect_files(data.paths, data.glob)]
    stats = [(os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in files]
    options = {name: getattr(data, name) for name in ID_OPTIONS}
    text = json.dumps([VERSION, files, stats, options], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def tokens_dir() -> Path:
    """``$RECUR_TOKEN_CACHE``, else ``$XDG_CACHE_HOME/recur/tokens`` (``~/.cache/recur/tokens``)."""
    if os.environ.get("RECUR_TOKEN_CACHE"):
        return Path(os.environ["RECUR_TOKEN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "recur" / "tokens"


def cached_documents(data, tokenizer=None, root: Path | None = None):
    """(tokenizer, train ids, validation ids, CachedDocuments); sets ``data.conditions`` on a
    new run. Built on the first call for these files and options, read back on later ones."""
    folder = (root or tokens_dir()) / signature(data)[:32]
    meta, fitted = open_cache(folder, lambda: _build(data, folder), tokenizer)
    counts = meta["conditions"]
    if tokenizer is None:
        data.conditions = counts
    _check_conditions(tokenizer or fitted, counts)
    prints = np.fromfile(folder / "fingerprints.bin", dtype=np.uint64)
    info = CachedDocuments(
        meta["count"], meta["skipped"], meta["filtered"], prints, meta["val_characters"]
    )
    train, val = TokenFile(folder / "ids.bin", meta["dtype"]).split(meta["split"])
    return fitted, train, val, info


def temporary_folder(folder: Path) -> Path:
    """An empty ``folder.tmp-PID`` to build in; those of builds killed before the end go."""
    for stale in folder.parent.glob(f"{folder.name}.tmp-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    temporary = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    return temporary


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _check_conditions(tokenizer, counts: dict) -> None:
    unseen = [
        t
        for c, values in counts.items()
        for v in values
        if tokenizer.condition_id(t := condition_token(c, v)) is None
    ]
    if unseen:
        raise RecurError(f"the data has condition values this run never saw: {', '.join(unseen)}")


def open_cache(folder: Path, build, tokenizer=None):
    """(the cache's metadata, its tokenizer): ``build()`` runs first when the folder holds no
    complete cache; a resumed run's ``tokenizer`` must be the one the cache was built with."""
    meta = _read_meta(folder)
    if meta is None:
        build()
        meta = _read_meta(folder)
        if meta is None:
            raise RecurError(f"{folder}: the token cache could not be written")
    fitted = tokenizer_from_dict(meta["tokenizer"])
    if tokenizer is not None and tokenizer.to_dict() != fitted.to_dict():
        raise RecurError(
            "the training data changed since this run started; resume needs "
            "the same files (or start a new run)"
        )
    return meta, fitted


def _read_meta(folder: Path) -> dict | None:
    try:
        meta = json.loads((folder / "cache.json").read_text())
    except (OSError, ValueError):  # absent, or cut short by a crash: built again
        return None
    return meta if isinstance(meta, dict) and (folder / "ids.bin").is_file() else None


def _build(data, folder: Path) -> None:
    """The four passes, into a temporary folder renamed into place when complete."""
    columns = split_names(data.condition_column)
    temporary = temporary_folder(folder)
    try:
        tally, lengths, prints = Documents(), array("q"), array("Q")
        counters: Counter = Counter()
        for text, values in stream_documents(data, data.documents, tally):  # pass 1
            lengths.append(len(text))
            prints.append(int(fingerprint(text), 16))
            counters.update((c, values[c]) for c in columns)
        if not lengths:
            raise RecurError("no documents to train on: every row was empty or filtered out")
        conditions = {
            c: dict(sorted(((v, n) for (k, v), n in counters.items() if k == c), key=_order))
            for c in columns
        }
        train, val = split_documents(len(lengths), data.val_fraction)
        training = np.zeros(len(lengths), dtype=bool)
        training[train] = True
        tokens = [condition_token(c, v) for c in columns for v in conditions[c]]
        tokenizer = build_tokenizer(data.level, data).fit(  # pass 2
            (
                text
                for i, (text, _) in enumerate(stream_documents(data, data.documents, Documents()))
                if training[i]
            ),  # fmt: skip
            tokens,
        )
        dtype = np.dtype(np.uint16 if tokenizer.vocab_size <= 1 << 16 else np.uint32)
        offsets = _encode(data, tokenizer, columns, temporary / "documents.bin", dtype)  # pass 3
        split = _reorder(temporary, offsets, train + val, dtype)  # pass 4
        np.unique(np.frombuffer(prints, dtype=np.uint64)).tofile(temporary / "fingerprints.bin")
        meta = {
            "dtype": dtype.str,
            "split": int(split[len(train)]) if len(train) else 0,
            "count": len(lengths),
            "skipped": tally.skipped,
            "filtered": tally.filtered,
            "conditions": conditions,
            "val_characters": int(sum(lengths[i] + 1 for i in val)),
            "tokenizer": tokenizer.to_dict(),
        }
        (temporary / "cache.json").write_text(json.dumps(meta, ensure_ascii=False))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(temporary, folder)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _order(item: tuple) -> tuple:
    """Most frequent value first; ties in order of first appearance (as Counter keeps them)."""
    return (-item[1],)


def _encode(data, tokenizer, columns: list, path: Path, dtype) -> np.ndarray:
    """Each document framed and encoded, written in file order; the (N + 1) id offsets."""
    newline = line_end_id(tokenizer) if data.condition_every_line and columns else None
    offsets, at = array("q", [0]), 0
    with open(path, "wb") as handle:
        for text, values in stream_documents(data, data.documents, Documents()):
            ids = frame_one(tokenizer, text, values, columns, newline)
            handle.write(ids.astype(dtype).tobytes())
            at += len(ids)
            offsets.append(at)
    return np.frombuffer(offsets, dtype=np.int64)


def _reorder(folder: Path, offsets: np.ndarray, order: list, dtype) -> np.ndarray:
    """``documents.bin`` copied document by document into ``ids.bin`` in ``order``; the id
    offset at which each of them starts there (plus the end)."""
    size = dtype.itemsize
    starts, at = np.zeros(len(order) + 1, dtype=np.int64), 0
    source = folder / "documents.bin"
    with open(source, "rb") as reader, open(folder / "ids.bin", "wb") as writer:
        for k, i in enumerate(order):
            first, last = int(offsets[i]), int(offsets[i + 1])
            writer.write(os.pread(reader.fileno(), (last - first) * size, first * size))
            at += last - first
            starts[k + 1] = at
    source.unlink()
    return starts
