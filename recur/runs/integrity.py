"""What keeps a run directory whole: checksums, checked reads and atomic writes.

Every checkpoint holds ``manifest.json``, written last: the SHA-256 and size of each of its
files. ``verify`` compares them before anything is built from the files, so a changed, truncated
or swapped file is named at load; a checkpoint without a manifest (written before it existed)
loads as it always did. Files are written to a temporary name, flushed to disk and renamed into
place, so a crash leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

from recur.errors import RecurError

MANIFEST = "manifest.json"
PICKLE_OR_ZIP = (b"\x80", b"PK\x03\x04")  # pickle protocol 2+, torch.save's zip archive


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_path(path: Path) -> None:
    """Flush a file, or a directory's entries, to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, flushed, then renamed over it."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def leftover(directory: Path) -> Path | None:
    """After a crash between a save's two renames (checkpoint.py): the newest complete temporary
    (it has its manifest, written last), else the old checkpoint moved aside; None if neither."""
    parent, name = directory.parent, directory.name
    complete = [p for p in parent.glob(f".{name}.tmp-*") if (p / MANIFEST).is_file()]
    olds = [p for p in parent.glob(f".{name}.old-*") if (p / "config.json").is_file()]
    for found in (complete, olds):
        if found:
            return max(found, key=lambda p: p.stat().st_mtime)
    return None


def write_manifest(directory) -> None:
    """Record the checksum of every file in ``directory`` (flushing each to disk first)."""
    directory = Path(directory)
    files = {}
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.name != MANIFEST and not path.name.startswith("."):
            fsync_path(path)
            files[path.name] = {"sha256": sha256(path), "bytes": path.stat().st_size}
    atomic_write_text(directory / MANIFEST, json.dumps({"format": 1, "files": files}, indent=1))
    fsync_path(directory)


def verify(directory) -> None:
    """Raise a ``RecurError`` naming the first file that differs from the manifest."""
    directory = Path(directory)
    if not (directory / MANIFEST).is_file():
        return  # written before manifests: loads as it always did
    manifest = read_json(directory / MANIFEST)
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(entry, dict) and "sha256" in entry for entry in files.values()
    ):
        raise RecurError(f"{directory / MANIFEST}: damaged (no file checksums); {RESTORE}")
    for name, entry in files.items():
        path = directory / name
        if not path.is_file():
            raise RecurError(f"{path}: missing, but manifest.json lists it; {RESTORE}")
        if path.stat().st_size != entry.get("bytes") or sha256(path) != entry["sha256"]:
            raise RecurError(
                f"{path}: changed since the run saved it (its checksum differs from "
                f"manifest.json); {RESTORE}"
            )


RESTORE = "restore the run from a copy, or train it again"


def read_json(path, what: str = "a JSON object") -> dict:
    """A JSON object from ``path``, or a one-line ``RecurError`` naming the file and position."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecurError(f"{path}: missing; the checkpoint is incomplete") from None
    except UnicodeDecodeError as error:
        raise RecurError(f"{path}: not UTF-8 text (byte {error.start}); {RESTORE}") from None
    except OSError as error:
        raise RecurError(f"{path}: cannot read it ({error.strerror})") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise RecurError(
            f"{path}: not valid JSON at line {error.lineno}, column {error.colno} "
            f"({error.msg}); {RESTORE}"
        ) from None
    if not isinstance(value, dict):
        raise RecurError(f"{path}: should hold {what}, not {type(value).__name__}; {RESTORE}")
    return value


def stored_elements(path: Path) -> int | None:
    """How many numbers a safetensors file holds, from its header alone (None: unreadable)."""
    try:
        with open(path, "rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            if not 0 < size < 100_000_000:
                return None
            header = json.loads(handle.read(size))
        return sum(
            math.prod(entry["shape"]) for name, entry in header.items() if name != "__metadata__"
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def refuse_code(path: Path) -> None:
    """A weights file must be safetensors: a pickle could run code when read, so it is refused
    unread (recur never unpickles anything)."""
    with open(path, "rb") as handle:
        head = handle.read(9)
    # safetensors: an 8-byte header length, then the JSON header; anything else is not one
    if head[8:9] != b"{" and head.startswith(PICKLE_OR_ZIP):
        raise RecurError(
            f"{path}: a pickle (torch.save) file, which could run code when loaded; recur reads "
            "only safetensors and refuses it: use a run saved by recur"
        )
