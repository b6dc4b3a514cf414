"""Reading numeric sequences: CSV / Parquet tables (long: one row per time step, grouped by an id
column; wide: one row per sequence), ``.npy`` arrays and the built-in corpora -> ``SeriesSet``.

Empty cells, NA and NaN are missing values: inside a sequence they are filled (``--fill``) and
counted; at the end of a wide row they make the sequence shorter (variable lengths).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recur.config.options import DataConfig
from recur.config.series_options import SeriesConfig
from recur.data.corpora import get_corpus
from recur.errors import RecurError
from recur.extras import require

MISSING = {"", "na", "nan", "null", "none", "n/a", "?"}
MAX_CLASS_CODES = 50  # a single integer target column with at most this many values: classes


@dataclass
class SeriesSet:
    """Sequences of one run's data, raw units, missing values filled."""

    ids: list
    values: list  # (T_i, C) float64 arrays
    channels: list
    targets: Any = None  # labels (list of str) or (N, K) floats, or None
    covariates: list = field(default_factory=list)  # (T_i, K) arrays when covariates are given
    missing: int = 0  # cells filled
    task: str = ""

    def __len__(self) -> int:
        return len(self.values)


def read_series(data: DataConfig, series: SeriesConfig, need_target: bool = True) -> SeriesSet:
    """The run's sequences: ``data.corpus`` or ``data.paths`` (one file, or several with the same
    columns), laid out as ``series`` says; ``need_target``: classify/regress targets required."""
    if data.corpus:
        corpus = get_corpus(data.corpus)
        if corpus.kind != "series":
            raise RecurError(f"--corpus {data.corpus} is not numeric ({corpus.kind})")
        return from_table(_columns(corpus.load()), series, data.corpus, need_target)
    if not data.paths:
        raise RecurError("no data: give a CSV, Parquet or .npy file, or --corpus parabolas")
    paths = [Path(p) for p in data.paths]
    if paths[0].suffix == ".npy":
        return from_arrays(paths[0], series, need_target)
    tables = [read_table(path) for path in paths]
    table: dict = {name: sum((t.get(name, []) for t in tables), []) for name in tables[0]}
    return from_table(table, series, str(paths[0]), need_target)


def read_table(path: Path) -> dict:
    """A CSV/TSV or Parquet file -> {column: list of cells}."""
    if not path.is_file():
        raise RecurError(f"{path}: no such file")
    if path.suffix in (".parquet", ".pq"):
        parquet = require("pyarrow.parquet", "series", "reading Parquet")
        return parquet.read_table(path).to_pydict()
    with open(path, newline="", encoding="utf-8") as handle:
        delimiter = "\t" if path.suffix == ".tsv" else ","
        rows = list(csv.DictReader(handle, delimiter=delimiter))
    if not rows:
        raise RecurError(f"{path}: no rows under the header")
    return _columns(rows)


def _columns(rows: list[dict]) -> dict:
    return {name: [row.get(name) for row in rows] for name in rows[0]}


def numbers(cells: list, name: str = "") -> np.ndarray | None:
    """Cells -> floats (missing -> NaN), or None when a cell is not a number."""
    out = np.empty(len(cells))
    for index, cell in enumerate(cells):
        if cell is None or (isinstance(cell, str) and cell.strip().lower() in MISSING):
            out[index] = np.nan
            continue
        try:
            out[index] = float(cell)
        except (TypeError, ValueError):
            return None
    return out


def _names(text: str | None) -> list:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def from_table(table: dict, series: SeriesConfig, source: str, need_target: bool) -> SeriesSet:
    """A table of columns -> sequences, long or wide (``--layout``)."""
    targets = _names(series.target) if need_target else []
    covariates = _names(series.covariates)
    for name in [series.id_column, series.time_column, *targets, *covariates]:
        if name and name not in table:
            raise RecurError(f"{source}: no column {name!r}; columns: {', '.join(table)}")
    skip = {series.id_column, series.time_column, *targets, *covariates}
    channels = _names(series.value_columns) or [
        name for name in table if name not in skip and numbers(table[name]) is not None
    ]
    missing = [name for name in channels if name not in table]
    if missing or not channels:
        raise RecurError(
            f"{source}: no numeric value columns"
            + (f" named {', '.join(missing)}" if missing else "")
            + "; give --value-columns"
        )
    columns = {}
    for name in channels + covariates:
        column = numbers(table[name])
        if column is None:
            raise RecurError(f"{source}: column {name!r} holds text; it must be numeric")
        columns[name] = column
    long = series.layout == "long" or (
        series.layout == "auto" and (bool(series.id_column) or series.forecast > 0)
    )
    if long:
        return _long(table, columns, channels, covariates, targets, series, source)
    return _wide(table, columns, channels, targets, source, series.fill)


def _wide(table, columns, channels, targets, source, fill) -> SeriesSet:
    """One row per sequence; its value columns in order are its steps (one channel); empty
    cells at the end of a row make that sequence shorter."""
    matrix = np.stack([columns[name] for name in channels], axis=1)  # (N, T)
    values, filled = [], 0
    for row, cells in enumerate(matrix):
        present = np.flatnonzero(~np.isnan(cells))
        if len(present) == 0:
            raise RecurError(f"{source}: row {row + 2} has no values")
        sequence = cells[: present[-1] + 1]
        filled += int(np.isnan(sequence).sum())
        values.append(fill_missing(sequence[:, None], fill, f"{source}: row {row + 2}"))
    ids = [str(i) for i in range(len(values))]
    result = SeriesSet(ids, values, ["value"], missing=filled)
    result.targets = _targets(table, targets, list(range(len(values))), source)
    return result


def _long(table, columns, channels, covariates, targets, series, source) -> SeriesSet:
    """One row per time step; rows grouped by ``--id-column`` (one series without it) and
    sorted by ``--time-column``."""
    rows = len(next(iter(columns.values())))
    ids = [str(v) for v in table[series.id_column]] if series.id_column else ["0"] * rows
    order: dict[str, list] = {}
    for index, name in enumerate(ids):
        order.setdefault(name, []).append(index)
    if series.time_column:
        times = table[series.time_column]
        numeric = numbers(times)
        key = (lambda i: numeric[i]) if numeric is not None else (lambda i: str(times[i]))
        order = {name: sorted(indices, key=key) for name, indices in order.items()}
    result = SeriesSet(list(order), [], channels)
    for name, indices in order.items():
        block = np.stack([columns[c][indices] for c in channels], axis=1)
        if covariates:  # rows past the last value hold the covariates of the steps to forecast
            block = _until_last(block, f"{source}: series {name}")
            cov = _until_last(
                np.stack([columns[c][indices] for c in covariates], axis=1),
                f"{source}: series {name}: covariates {', '.join(covariates)}",
            )
            result.covariates.append(fill_missing(cov, "forward", f"{source}: series {name}"))
        result.missing += int(np.isnan(block).sum())
        result.values.append(fill_missing(block, series.fill, f"{source}: series {name}"))
    first_rows = [indices[0] for indices in order.values()]
    result.targets = _targets(table, targets, first_rows, source, order)
    return result


def _until_last(block: np.ndarray, where: str) -> np.ndarray:
    """(T, K) rows up to the last one with a value in it."""
    present = np.flatnonzero(~np.isnan(block).all(axis=1))
    if len(present) == 0:
        raise RecurError(f"{where}: no values")
    return block[: present[-1] + 1]


def _targets(table, targets, rows, source, groups=None):
    """Labels (one column of classes) or (N, K) numbers for the sequences' rows."""
    if not targets:
        return None
    if groups is not None:  # long layout: a target must not change within a series
        for name in targets:
            for series_id, indices in groups.items():
                if len({str(table[name][i]) for i in indices}) > 1:
                    raise RecurError(
                        f"{source}: target {name!r} changes within series {series_id}; "
                        "a sequence has one target"
                    )
    cells = [[table[name][i] for i in rows] for name in targets]
    if len(targets) == 1 and _is_labels(cells[0]):
        labels = [str(c).strip() for c in cells[0]]
        if any(label.lower() in MISSING for label in labels):
            raise RecurError(f"{source}: target {targets[0]!r} has empty cells")
        return labels
    parsed = [numbers(c) for c in cells]
    columns = [column for column in parsed if column is not None]
    matrix = np.stack(columns, axis=1) if len(columns) == len(parsed) else None
    if matrix is None or np.isnan(matrix).any():
        raise RecurError(f"{source}: regression targets {', '.join(targets)} must be numbers")
    return matrix


def _is_labels(cells: list) -> bool:
    """Text, or few distinct integers: class labels rather than numbers to regress."""
    parsed = numbers(cells)
    if parsed is None:
        return True
    whole = np.all(np.isfinite(parsed)) and np.all(parsed == np.round(parsed))
    return bool(whole) and len(set(parsed.tolist())) <= MAX_CLASS_CODES


def from_arrays(path: Path, series: SeriesConfig, need_target: bool) -> SeriesSet:
    """A .npy of (N, T), (N, T, C) or (T,) values; targets from a .npy named by --target."""
    array = np.load(path, allow_pickle=False).astype(np.float64)
    if array.ndim == 1:
        array = array[None, :, None]
    elif array.ndim == 2:
        array = array[:, :, None]
    elif array.ndim != 3:
        raise RecurError(f"{path}: a .npy of shape (N, T), (N, T, C) or (T,), not {array.shape}")
    result = SeriesSet(
        [str(i) for i in range(len(array))], [], [f"c{c}" for c in range(array.shape[2])]
    )
    for index, block in enumerate(array):
        present = np.flatnonzero(~np.isnan(block).all(axis=1))
        block = block[: present[-1] + 1] if len(present) else block
        result.missing += int(np.isnan(block).sum())
        result.values.append(fill_missing(block, series.fill, f"{path}: sequence {index}"))
    if need_target and series.target:
        target_path = Path(series.target)
        if target_path.suffix != ".npy" or not target_path.is_file():
            raise RecurError(f"--target {series.target}: a .npy input takes a .npy file of targets")
        targets = np.load(target_path, allow_pickle=False)
        if len(targets) != len(array):
            raise RecurError(f"{target_path}: {len(targets)} targets for {len(array)} sequences")
        if targets.ndim == 1 and np.issubdtype(targets.dtype, np.integer):
            result.targets = [str(t) for t in targets.tolist()]
        else:
            result.targets = targets.reshape(len(targets), -1).astype(np.float64)
    return result


def fill_missing(values: np.ndarray, how: str, where: str) -> np.ndarray:
    """(T, C) values with NaNs -> filled (``--fill``): linear, forward, zero or mean."""
    values = np.array(values, dtype=np.float64)
    for channel in range(values.shape[1]):
        column = values[:, channel]
        missing = np.isnan(column)
        if not missing.any():
            continue
        if missing.all():
            raise RecurError(f"{where}: channel {channel} has no values at all")
        present = np.flatnonzero(~missing)
        if how == "zero":
            column[missing] = 0.0
        elif how == "mean":
            column[missing] = column[present].mean()
        elif how == "forward":
            last = np.maximum.accumulate(np.where(missing, 0, np.arange(len(column))))
            last[: present[0]] = present[0]  # leading gaps take the first value
            column[:] = column[last]
        else:
            column[missing] = np.interp(np.flatnonzero(missing), present, column[present])
    return values
