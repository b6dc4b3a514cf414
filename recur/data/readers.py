"""Reading text: files, folders and built-in corpora -> Python strings.

Text is read as Unicode code points. Every failure (missing, empty, binary or undecodable file)
becomes a one-line ``RecurError`` that names the file and, where it helps, the byte offset.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from pathlib import Path

from recur.data.corpora import load_corpus
from recur.errors import RecurError

BINARY_PROBE_BYTES = 8192


def collect_files(paths: Iterable[str], glob: str = "*") -> list[Path]:
    """Expand folders (recursively, by ``glob``, skipping hidden entries) into a sorted list."""
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob(glob)
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                raise RecurError(f"{path}: no files match --glob {glob!r} in this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise RecurError(f"{path}: no such file or folder")
    if not files:
        raise RecurError("no input: give a file, a folder or --corpus NAME")
    return files


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """One file as text, with Windows line ends turned into ``\\n``."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise unreadable(path, error) from None
    if not data.strip():
        raise RecurError(f"{path}: the file is empty")
    nul = data.find(b"\x00", 0, BINARY_PROBE_BYTES)
    if nul >= 0 and not is_utf16(encoding):
        raise binary_file(path, f"at offset {nul}")
    try:
        text = data.decode(encoding)
    except LookupError:
        raise unknown_encoding(encoding) from None
    except UnicodeDecodeError as error:
        raise not_valid(path, f"byte {error.start} (0x{data[error.start]:02x})", encoding) from None
    return text.replace("\r\n", "\n")


def check_text_file(path: Path, encoding: str = "utf-8") -> None:
    """The checks of ``read_text`` that need only the start of a file (readable, not empty,
    not binary, a known encoding), for readers that then stream it."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(BINARY_PROBE_BYTES)
            more = bool(handle.read(1))
    except OSError as error:
        raise unreadable(path, error) from None
    if not more and not data.strip():
        raise RecurError(f"{path}: the file is empty")
    nul = data.find(b"\x00")
    if nul >= 0 and not is_utf16(encoding):
        raise binary_file(path, f"at offset {nul}")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise unknown_encoding(encoding) from None


def unknown_encoding(encoding: str) -> RecurError:
    return RecurError(f"unknown --encoding {encoding!r}")


def is_utf16(encoding: str) -> bool:
    """UTF-16 text holds NUL bytes and cannot be split on b"\\n"."""
    return encoding.lower().replace("-", "").startswith("utf16")


def unreadable(path: Path, error: OSError) -> RecurError:
    return RecurError(f"{path}: cannot read the file ({error.strerror})")


def not_valid(path: Path, where: str, encoding: str) -> RecurError:
    """The one-line error for undecodable bytes at ``where`` (a byte offset, or a line)."""
    return RecurError(
        f"{path}: {where} is not valid {encoding}; pass --encoding (for example latin-1)"
    )


def binary_file(path: Path, where: str) -> RecurError:
    return RecurError(
        f"{path}: looks like a binary file (NUL byte {where}); give text files, "
        "or narrow a folder with --glob"
    )


def read_lines(path: Path, encoding: str = "utf-8") -> Iterator[str]:
    """The lines of one file, one at a time (a file larger than memory is fine), without their
    line ends; the same one-line errors as ``read_text``, naming the line that fails."""
    if is_utf16(encoding):
        yield from read_text(path, encoding).split("\n")
        return
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise unknown_encoding(encoding) from None
    try:
        with open(path, "rb") as handle:
            for number, raw in enumerate(handle, 1):
                if b"\x00" in raw:
                    raise binary_file(path, f"on line {number}")
                try:
                    yield raw.decode(encoding).rstrip("\r\n")
                except UnicodeDecodeError:
                    raise not_valid(path, f"line {number}", encoding) from None
    except OSError as error:
        raise unreadable(path, error) from None


def read_texts(paths: Iterable[str], glob: str = "*", encoding: str = "utf-8") -> str:
    """All files joined into one text, each ending with a newline so files never run together."""
    parts = []
    for path in collect_files(paths, glob):
        text = read_text(path, encoding)
        parts.append(text if text.endswith("\n") else text + "\n")
    return "".join(parts)


def load_text(
    paths: Iterable[str], corpus: str | None, glob: str = "*", encoding: str = "utf-8"
) -> str:
    """The training text of a run: a built-in corpus or the given files and folders."""
    paths = list(paths)
    if corpus and paths:
        raise RecurError("give either files/folders or --corpus, not both")
    if corpus:
        return load_corpus(corpus)
    return read_texts(paths, glob, encoding)
