"""Document corpora: CSV / JSONL rows or the lines / blank-line blocks of text files -> documents.

Each document is one string plus its condition values (``{"genre": "country"}``). Rows whose text
(or a condition value) is empty, and blank lines, are skipped and counted, never fed as documents.
``--where COLUMN=VALUE`` keeps matching rows; a missing column is a one-line error listing the
columns the file has. ``fingerprint`` gives the normalized hash used by the novelty report.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from recur.data.readers import check_text_file, collect_files, read_text
from recur.errors import RecurError, UsageError

TABLE_SUFFIXES = (".csv", ".jsonl")


@dataclass
class Documents:
    texts: list = field(default_factory=list)
    conditions: list = field(default_factory=list)  # one {column: value} per document
    skipped: int = 0
    filtered: int = 0  # rows left out by --where

    def counts(self, columns: list[str]) -> dict:
        """{column: {value: documents}}, most frequent value first."""
        return {c: dict(Counter(d[c] for d in self.conditions).most_common()) for c in columns}


def split_names(text: str | None) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def resolve_mode(data, files: list[Path]) -> str:
    """``auto`` -> rows when every input is CSV/JSONL, none (one continuous text) otherwise."""
    tables = [f.suffix.lower() in TABLE_SUFFIXES for f in files]
    if data.documents == "auto":
        return "rows" if all(tables) else "none"
    if data.documents == "rows" and not all(tables):
        raise RecurError("--documents rows needs .csv or .jsonl files")
    if data.documents in ("lines", "blocks") and any(tables):
        raise RecurError(f"--documents {data.documents} reads text files; CSV/JSONL are rows")
    return data.documents


def read_documents(data, mode: str) -> Documents:
    """All documents of the run's inputs, in file order."""
    documents = Documents()
    for text, values in stream_documents(data, mode, documents):
        documents.texts.append(text)
        documents.conditions.append(values)
    if not documents.texts:
        raise RecurError("no documents to train on: every row was empty or filtered out")
    return documents


def stream_documents(data, mode: str, tally: Documents) -> Iterator[tuple[str, dict]]:
    """(text, condition values) of every document in file order, read row by row (CSV/JSONL)
    or file by file (lines, blocks); ``tally`` counts the rows skipped and filtered out."""
    if data.corpus:
        raise RecurError("built-in corpora are one continuous text; use --documents none")
    if mode != "rows" and (data.where or data.condition_column or data.text_column):
        raise RecurError("--text-column, --where and --condition-column need CSV or JSONL input")
    for path in collect_files(data.paths, data.glob):
        if mode == "rows":
            yield from _rows(tally, path, data)
        else:
            yield from _pieces(tally, read_text(path, data.encoding), mode)


def _pieces(tally: Documents, text: str, mode: str) -> Iterator[tuple[str, dict]]:
    pieces = text.split("\n") if mode == "lines" else re.split(r"\n[ \t]*\n", text)
    if mode == "lines" and text.endswith("\n"):
        tally.skipped -= 1  # the final line end opens no line
    for piece in pieces:
        piece = piece.strip("\n") if mode == "blocks" else piece
        if piece.strip():
            yield piece, {}
        elif mode == "lines":
            tally.skipped += 1


def _rows(tally: Documents, path: Path, data) -> Iterator[tuple[str, dict]]:
    columns, rows = iter_table(path, data.encoding, tally)
    text_columns = split_names(data.text_column)
    if not text_columns:
        if len(columns) != 1:
            raise RecurError(
                f"{path}: say which column holds the text with --text-column; "
                f"the file has: {', '.join(columns)}"
            )
        text_columns = columns
    condition_columns = split_names(data.condition_column)
    where = parse_where(data.where)
    for name in text_columns + condition_columns + ([where[0]] if where else []):
        if name not in columns:
            raise RecurError(f"{path}: no column {name!r}; the file has: {', '.join(columns)}")
    separator = data.separator.replace("\\n", "\n").replace("\\t", "\t")
    for row in rows:
        if where and _cell(row, where[0]) != where[1]:
            tally.filtered += 1
            continue
        text = separator.join(t for t in (_cell(row, c) for c in text_columns) if t.strip())
        values = {c: _cell(row, c).strip() for c in condition_columns}
        if not text.strip() or not all(values.values()):
            tally.skipped += 1
            continue
        yield text, values


def _cell(row: dict, column: str) -> str:
    value = row.get(column)
    if value is None or (isinstance(value, float) and value != value):  # JSON null or NaN
        return ""
    return str(value)


def parse_where(where: str | None):
    if not where:
        return None
    if "=" not in where:
        raise UsageError(f"--where {where!r}: write it as COLUMN=VALUE")
    column, value = where.split("=", 1)
    return column.strip(), value


def read_table(path: Path, encoding: str) -> tuple[list[str], list[dict], int]:
    """Column names, rows and the number of blank lines of a CSV (with a header) or JSONL
    (one object per line) file."""
    tally = Documents()
    columns, rows = iter_table(path, encoding, tally)
    return columns, list(rows), tally.skipped


def iter_table(path: Path, encoding: str, tally: Documents) -> tuple[list[str], Iterator[dict]]:
    """Column names and the rows of a CSV or JSONL file, read line by line (never the whole
    file at once); blank lines are counted in ``tally.skipped``. A JSONL file's columns (those
    of any row) take one extra pass."""
    if path.suffix.lower() == ".jsonl":
        columns: dict = {}
        for _, row in _jsonl_rows(path, encoding, Documents()):
            columns.update(dict.fromkeys(row))
        return list(columns), (row for _, row in _jsonl_rows(path, encoding, tally))
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
    lines = _lines(path, encoding)
    try:
        reader = csv.reader(lines)
        header = next(reader, [])
    except csv.Error as error:
        raise RecurError(f"{path}: cannot read the CSV ({error})") from None
    return header, _csv_rows(path, reader, header, tally)


def _csv_rows(path: Path, reader, header: list, tally: Documents) -> Iterator[dict]:
    try:
        for record in reader:
            if record:
                yield dict(zip(header, record))
            else:
                tally.skipped += 1
    except csv.Error as error:
        raise RecurError(f"{path}: cannot read the CSV ({error})") from None


def _lines(path: Path, encoding: str) -> Iterator[str]:
    """The file's lines with Unix line ends, as ``read_text`` gives them; no final blank line."""
    check_text_file(path, encoding)
    try:
        with open(path, encoding=encoding, newline="\n") as handle:
            held = None
            for number, line in enumerate(handle):
                line = line.replace("\r\n", "\n")
                if number == 0:
                    line = line.lstrip("\ufeff")
                if held is not None:
                    yield held
                held = line
            if held is not None and (held.endswith("\n") or held.strip()):
                yield held
    except UnicodeDecodeError:
        read_text(path, encoding)  # raises the error naming the byte
        raise


def _jsonl_rows(path: Path, encoding: str, tally: Documents) -> Iterator[tuple[int, dict]]:
    for number, line in enumerate(_lines(path, encoding), 1):
        if not line.strip():
            tally.skipped += 1
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            raise RecurError(f"{path}: line {number} is not JSON ({error.args[0]})") from None
        if not isinstance(row, dict):
            raise RecurError(f"{path}: line {number} is not a JSON object")
        yield number, row


def normalize(text: str) -> str:
    """The form in which outputs are compared with training documents: lower case, no spaces."""
    return re.sub(r"\s+", "", text.lower())


def fingerprint(text: str) -> str:
    return hashlib.sha1(normalize(text).encode("utf-8")).hexdigest()[:16]
