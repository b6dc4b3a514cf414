"""Reading text: files, folders and built-in corpora -> Python strings.

Text is read as Unicode code points. Every failure (missing, empty, binary or undecodable file)
becomes a one-line ``RecurError`` that names the file and, where it helps, the byte offset.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from .errors import RecurError

BINARY_PROBE_BYTES = 8192


def collect_files(paths: Iterable[str], glob: str = "*") -> list[Path]:
    """Expand folders (recursively, by ``glob``, skipping hidden entries) into a sorted file list."""
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob(glob)
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
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
        raise RecurError(f"{path}: cannot read the file ({error.strerror})") from None
    if not data.strip():
        raise RecurError(f"{path}: the file is empty")
    nul = data.find(b"\x00", 0, BINARY_PROBE_BYTES)
    if nul >= 0 and not encoding.lower().replace("-", "").startswith("utf16"):
        raise RecurError(f"{path}: looks like a binary file (NUL byte at offset {nul}); "
                         "give text files, or narrow a folder with --glob")
    try:
        text = data.decode(encoding)
    except LookupError:
        raise RecurError(f"unknown --encoding {encoding!r}") from None
    except UnicodeDecodeError as error:
        raise RecurError(f"{path}: byte {error.start} (0x{data[error.start]:02x}) is not valid "
                         f"{encoding}; pass --encoding (for example latin-1)") from None
    return text.replace("\r\n", "\n")


def read_lines(path: Path, encoding: str = "utf-8") -> Iterator[str]:
    """The lines of one file, one at a time (a file larger than memory is fine), without their
    line ends; the same one-line errors as ``read_text``, naming the line that fails."""
    if encoding.lower().replace("-", "").startswith("utf16"):
        yield from read_text(path, encoding).split("\n")   # b"\n" does not split UTF-16
        return
    try:
        "".encode(encoding)
    except LookupError:
        raise RecurError(f"unknown --encoding {encoding!r}") from None
    try:
        with open(path, "rb") as handle:
            for number, raw in enumerate(handle, 1):
                if b"\x00" in raw:
                    raise RecurError(f"{path}: looks like a binary file (NUL byte on line "
                                     f"{number}); give text files, or narrow a folder with --glob")
                try:
                    yield raw.decode(encoding).rstrip("\r\n")
                except UnicodeDecodeError as error:
                    raise RecurError(f"{path}: line {number} is not valid {encoding} (byte 0x"
                                     f"{raw[error.start]:02x}); pass --encoding (for example "
                                     "latin-1)") from None
    except OSError as error:
        raise RecurError(f"{path}: cannot read the file ({error.strerror})") from None


def read_texts(paths: Iterable[str], glob: str = "*", encoding: str = "utf-8") -> str:
    """All files joined into one text, each ending with a newline so files never run together."""
    parts = []
    for path in collect_files(paths, glob):
        text = read_text(path, encoding)
        parts.append(text if text.endswith("\n") else text + "\n")
    return "".join(parts)


def load_text(paths: Iterable[str], corpus: str | None, glob: str = "*",
              encoding: str = "utf-8") -> str:
    """The training text of a run: a built-in corpus or the given files and folders."""
    paths = list(paths)
    if corpus and paths:
        raise RecurError("give either files/folders or --corpus, not both")
    if corpus:
        from .corpora import load_corpus

        return load_corpus(corpus)
    return read_texts(paths, glob, encoding)
