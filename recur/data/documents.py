"""Document corpora: CSV / JSONL rows or the lines / blank-line blocks of text files -> documents.

Each document is one string plus its condition values (``{"genre": "country"}``). Rows whose text
(or a condition value) is empty, and blank lines, are skipped and counted, never fed as documents.
``--where COLUMN=VALUE`` keeps matching rows; a missing column is a one-line error listing the
columns the file has. ``fingerprint`` gives the normalized hash used by the novelty report.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from recur.data.readers import collect_files, read_text
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
    if data.corpus:
        raise RecurError("built-in corpora are one continuous text; use --documents none")
    if mode != "rows" and (data.where or data.condition_column or data.text_column):
        raise RecurError("--text-column, --where and --condition-column need CSV or JSONL input")
    documents = Documents()
    for path in collect_files(data.paths, data.glob):
        if mode == "rows":
            _add_rows(documents, path, data)
        else:
            _add_text(documents, read_text(path, data.encoding), mode)
    if not documents.texts:
        raise RecurError("no documents to train on: every row was empty or filtered out")
    return documents


def _add_text(documents: Documents, text: str, mode: str) -> None:
    pieces = text.split("\n") if mode == "lines" else re.split(r"\n[ \t]*\n", text)
    for piece in pieces:
        piece = piece.strip("\n") if mode == "blocks" else piece
        if piece.strip():
            documents.texts.append(piece)
            documents.conditions.append({})
        elif mode == "lines":
            documents.skipped += 1
    if mode == "lines" and text.endswith("\n"):
        documents.skipped -= 1  # the final line end opens no line


def _add_rows(documents: Documents, path: Path, data) -> None:
    columns, rows, blank = read_table(path, data.encoding)
    documents.skipped += blank
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
            documents.filtered += 1
            continue
        text = separator.join(t for t in (_cell(row, c) for c in text_columns) if t.strip())
        values = {c: _cell(row, c).strip() for c in condition_columns}
        if not text.strip() or not all(values.values()):
            documents.skipped += 1
            continue
        documents.texts.append(text)
        documents.conditions.append(values)


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
    text = read_text(path, encoding).lstrip("\ufeff")
    lines = text.split("\n")
    if lines and not lines[-1].strip():
        lines.pop()  # the final line end opens no line
    if path.suffix.lower() == ".jsonl":
        return _read_jsonl(path, lines)
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
    try:
        reader = csv.reader(io.StringIO("\n".join(lines)))
        header = next(reader, [])
        records = list(reader)
    except csv.Error as error:
        raise RecurError(f"{path}: cannot read the CSV ({error})") from None
    rows = [dict(zip(header, record)) for record in records if record]
    return header, rows, len(records) - len(rows)


def _read_jsonl(path: Path, lines: list[str]) -> tuple[list[str], list[dict], int]:
    rows, columns, blank = [], {}, 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            blank += 1
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            raise RecurError(f"{path}: line {number} is not JSON ({error.args[0]})") from None
        if not isinstance(row, dict):
            raise RecurError(f"{path}: line {number} is not a JSON object")
        rows.append(row)
        columns.update(dict.fromkeys(row))
    return list(columns), rows, blank


def normalize(text: str) -> str:
    """The form in which outputs are compared with training documents: lower case, no spaces."""
    return re.sub(r"\s+", "", text.lower())


def fingerprint(text: str) -> str:
    return hashlib.sha1(normalize(text).encode("utf-8")).hexdigest()[:16]
