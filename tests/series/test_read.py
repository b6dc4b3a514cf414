"""Reading numeric sequences: long and wide CSV, .npy, Parquet, missing values and the
one-line errors a user can act on."""

import numpy as np
import pytest

from recur.config.options import DataConfig
from recur.config.series_options import SeriesConfig
from recur.errors import RecurError
from recur.series.read import fill_missing, read_series


def read(path, **options):
    return read_series(DataConfig(paths=[str(path)]), SeriesConfig(**options))


def test_long_layout_groups_sorts_and_fills(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(
        "id,t,a,b,label\n"
        "s2,2,5,50,up\ns1,1,2,,down\ns1,0,1,10,down\ns2,0,3,30,up\ns1,2,3,30,down\n"
        "s2,1,NA,40,up\n"
    )
    data = read(path, id_column="id", time_column="t", target="label")
    assert data.ids == ["s2", "s1"] and data.channels == ["a", "b"]
    assert data.values[1].tolist() == [[1, 10], [2, 20], [3, 30]]  # sorted by t, b filled
    assert data.values[0][:, 0].tolist() == [3, 4, 5]  # linear interpolation
    assert data.missing == 2 and data.targets == ["up", "down"]


def test_wide_rows_of_different_lengths(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("label,v0,v1,v2,v3\nx,1,2,3,4\ny,5,,7,\nx,1,2,,\n")
    data = read(path, target="label")
    assert [len(v) for v in data.values] == [4, 3, 2]
    assert data.values[1][:, 0].tolist() == [5, 6, 7] and data.missing == 1


def test_numeric_targets_regress_and_labels_classify(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("k,y0,y1,v0,v1\n1,0.5,2.5,1,2\n2,1.5,3.5,3,4\n")
    assert read(path, target="k").targets == ["1", "2"]  # few whole numbers: classes
    assert read(path, target="y0,y1").targets.tolist() == [[0.5, 2.5], [1.5, 3.5]]


@pytest.mark.parametrize(
    "text, options, message",
    [
        ("a,b\n1,2\n", {"target": "label"}, "no column 'label'"),
        ("label,v\nx,1\ny,oops\n", {"target": "label", "value_columns": "v"}, "holds text"),
        ("id,label,v\n1,x,1\n1,y,2\n", {"target": "label", "id_column": "id"}, "changes within"),
        ("id,v\n1,\n1,\n", {"forecast": 2, "id_column": "id"}, "no values at all"),
        ("label,v0\nx,\n", {"target": "label"}, "row 2 has no values"),
    ],
)
def test_errors_name_the_problem(tmp_path, text, options, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(RecurError, match=message):
        read(path, **options)


def test_npy_with_a_target_file(tmp_path):
    values = np.arange(24, dtype=np.float64).reshape(4, 3, 2)
    values[1, 2] = np.nan  # a shorter sequence
    np.save(tmp_path / "x.npy", values)
    np.save(tmp_path / "y.npy", np.array([0, 1, 0, 1]))
    data = read(tmp_path / "x.npy", target=str(tmp_path / "y.npy"))
    assert [len(v) for v in data.values] == [3, 2, 3, 3] and data.channels == ["c0", "c1"]
    assert data.targets == ["0", "1", "0", "1"]
    np.save(tmp_path / "short.npy", np.array([1.0, 2.0]))
    with pytest.raises(RecurError, match="2 targets for 4 sequences"):
        read(tmp_path / "x.npy", target=str(tmp_path / "short.npy"))


def test_parquet_reads_like_csv(tmp_path):
    pa = pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"id": ["a", "a", "b", "b"], "v": [1.0, None, 3.0, 4.0]})
    parquet.write_table(table, tmp_path / "s.parquet")
    data = read(tmp_path / "s.parquet", id_column="id", forecast=1)
    assert data.values[0][:, 0].tolist() == [1.0, 1.0] and data.missing == 1


@pytest.mark.parametrize(
    "how, expected",
    [
        ("linear", [1, 1, 2, 3, 3]),
        ("forward", [1, 1, 1, 3, 3]),
        ("zero", [0, 1, 0, 3, 0]),
        ("mean", [2, 1, 2, 3, 2]),
    ],
)
def test_fill_missing(how, expected):
    values = np.array([[np.nan], [1], [np.nan], [3], [np.nan]])
    assert fill_missing(values, how, "x")[:, 0].tolist() == expected


def test_covariates_read_into_the_future_and_refused_without_a_forecast(tmp_path):
    from recur.series.prepare import resolve_task

    path = tmp_path / "s.csv"
    path.write_text("t,v,temp\n0,1,5\n1,2,\n2,3,7\n3,,8\n4,,9\n")
    series = SeriesConfig(forecast=1, covariates="temp", time_column="t")
    data = read_series(DataConfig(paths=[str(path)]), series)
    assert data.values[0][:, 0].tolist() == [1, 2, 3]  # the empty values end the history
    assert data.covariates[0][:, 0].tolist() == [5, 5, 7, 8, 9]  # known past it
    resolve_task(series, data)
    assert series.covariate_columns == ["temp"] and series.channels == ["v"]
    wide = tmp_path / "w.csv"
    wide.write_text("label,temp,v0,v1\na,1,2,3\nb,2,3,4\n")
    classify = SeriesConfig(target="label", covariates="temp")
    with pytest.raises(RecurError, match="--covariates feeds other columns to a forecaster"):
        resolve_task(classify, read_series(DataConfig(paths=[str(wide)]), classify))
