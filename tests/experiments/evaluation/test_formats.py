"""Parquet and gzip/zstd-compressed CSV: read exactly as CSV is, refused with the same messages, told by content."""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from experiments.evaluation import EvaluationInputError, evaluate, read_predictions, read_truth
from experiments.evaluation.columnar import (
    read_truth_columns,
    row_groups,
    truth_slices,
    write_table,
    write_truth_columns,
)
from experiments.evaluation.reading import file_format
from tests.experiments.evaluation.helpers import (
    BAD_INPUTS,
    BINARY_TRUTH,
    BadInput,
    write_binary,
    write_multiclass,
    write_regression,
)

SUFFIX = {"gzip": ".csv.gz", "zstd": ".csv.zst", "parquet": ".parquet"}


def _compress(data: bytes, kind: str) -> bytes:
    if kind == "gzip":
        return gzip.compress(data)
    return pa.Codec("zstd").compress(data, asbytes=True)


def _convert(path: Path, kind: str) -> Path:
    """The CSV file at ``path`` in format ``kind``, under a name with that format's suffix."""
    target = path.with_name(path.name.removesuffix(".csv") + SUFFIX[kind])
    if kind == "parquet":
        # Typed as a user's dataframe would be: numbers as numbers, the rest as text.
        write_table(pa.csv.read_csv(path), target, "parquet", row_group_rows=7)
    else:
        target.write_bytes(_compress(path.read_bytes(), kind))
    return target


def _same_truth(a, b) -> None:
    assert a.ids.equals(b.ids)
    np.testing.assert_array_equal(a.y, b.y)
    assert a.y.dtype == b.y.dtype and a.classes == b.classes and a.n_groups == b.n_groups
    np.testing.assert_array_equal(a.groups, b.groups)


def _same_predictions(a, b) -> None:
    np.testing.assert_array_equal(a.present, b.present)
    for name in ("scores", "labels", "proba", "values"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def _datasets(tmp_path: Path) -> list[tuple[str, dict[str, Path]]]:
    rng = np.random.default_rng(3)
    n = 60
    y = (rng.random(n) < 0.4).astype(int)
    groups = rng.integers(0, 6, n)
    binary = write_binary(
        tmp_path / "binary",
        y,
        {"challenger": rng.random(n), "champion": rng.random(n)},
        groups=groups,
        present={"champion": rng.random(n) < 0.9},
    )
    labels = rng.choice(["bird", "cat", "dog"], n)
    proba = rng.dirichlet(np.ones(3), n)
    multiclass = write_multiclass(
        tmp_path / "multi",
        labels,
        {"challenger": (rng.choice(["bird", "cat", "dog"], n), proba), "champion": (labels, None)},
    )
    target = rng.normal(size=n)
    regression = write_regression(
        tmp_path / "reg", target, {"challenger": target + rng.normal(size=n), "champion": target}, groups=groups
    )
    return [("binary", binary), ("multiclass", multiclass), ("regression", regression)]


@pytest.mark.parametrize("kind", ["gzip", "zstd", "parquet"])
def test_every_format_gives_the_same_arrays_and_the_same_report(kind, tmp_path):
    for task, paths in _datasets(tmp_path):
        truth = read_truth(paths["truth"], task=task)
        other = {name: _convert(path, kind) for name, path in paths.items()}
        assert file_format(other["truth"]) == kind
        converted = read_truth(other["truth"], task=task)
        _same_truth(truth, converted)
        for model in ("challenger", "champion"):
            _same_predictions(
                read_predictions(paths[model], truth=truth), read_predictions(other[model], truth=converted)
            )
        expected = evaluate(
            task=task, truth=paths["truth"], predictions=paths["challenger"], champion=paths["champion"], n_resamples=50
        )
        got = evaluate(
            task=task, truth=other["truth"], predictions=other["challenger"], champion=other["champion"], n_resamples=50
        )
        for report in (got, expected):  # the file names differ, and only they
            assert {report["settings"].pop(k) for k in ("truth", "challenger", "champion")} != {None}
        assert got == expected


def test_the_format_is_told_by_content_not_by_name(tmp_path):
    plain = tmp_path / "truth.csv"
    plain.write_bytes(BINARY_TRUTH)
    disguised = {kind: tmp_path / f"upload-{kind}.csv" for kind in SUFFIX}
    for kind, path in disguised.items():
        path.write_bytes(_convert(plain, kind).read_bytes())
    expected = read_truth(plain, task="binary")
    for kind, path in disguised.items():
        assert file_format(path) == kind
        _same_truth(read_truth(path, task="binary"), expected)


def _read_all(case: BadInput, paths: dict[str, Path]) -> None:
    truth = read_truth(paths["truth"], task=case.task)
    read_predictions(paths["predictions"], truth=truth)
    if "champion" in paths:
        read_predictions(paths["champion"], truth=truth)


# --- the CSV reader's bad inputs, compressed ----------------------------------------------------------------
COMPRESSIBLE = [case for case in BAD_INPUTS if case.truth is not None]


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
@pytest.mark.parametrize("case", COMPRESSIBLE, ids=lambda c: c.name)
def test_compressed_bad_input_gets_the_csv_message(case: BadInput, kind, tmp_path):
    paths = {name: _convert(path, kind) for name, path in case.write(tmp_path).items()}
    with pytest.raises(EvaluationInputError) as caught:
        _read_all(case, paths)
    error = caught.value
    assert (error.file, error.line, error.column) == (paths[case.fault].name, case.line, case.column)
    assert case.text.replace("truth.csv", paths["truth"].name) in str(error)
    assert str(error).startswith(", ".join([paths[case.fault].name] + ([f"line {case.line}"] if case.line else [])))


# --- the CSV reader's bad inputs, as Parquet ----------------------------------------------------------------
def _records(data: bytes) -> list[list[str]] | None:
    """The records of a plain CSV (one record a line, no blank lines), or None for a file whose fault is
    its text (encoding, quoting, line structure), which a Parquet file cannot have."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.strip() or "\r" in text or '"' in text or "\n\n" in text or text.startswith("\ufeff"):
        return None
    rows = list(csv.reader(io.StringIO(text)))
    if any(len(row) != len(rows[0]) for row in rows):
        return None
    return rows


def _parquet_cases() -> list[BadInput]:
    cases = []
    for case in BAD_INPUTS:
        files = [case.truth, case.predictions] + ([case.champion] if case.champion else [])
        if all(f is not None and _records(f) for f in files):
            cases.append(case)
    return cases


def _write_parquet_text(data: bytes, path: Path) -> Path:
    header, *rows = _records(data)
    # Column names may repeat in a bad input; a table built column by column keeps them all.
    table = pa.Table.from_arrays(
        [pa.array([row[k] for row in rows], pa.string()) for k in range(len(header))],
        names=[name.strip() for name in header],
    )
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize("case", _parquet_cases(), ids=lambda c: c.name)
def test_parquet_bad_input_gets_the_csv_message_with_a_row(case: BadInput, tmp_path):
    paths = {"truth": _write_parquet_text(case.truth, tmp_path / "truth.parquet")}
    paths["predictions"] = _write_parquet_text(case.predictions, tmp_path / "predictions.parquet")
    if case.champion:
        paths["champion"] = _write_parquet_text(case.champion, tmp_path / "champion.parquet")
    with pytest.raises(EvaluationInputError) as caught:
        _read_all(case, paths)
    error = caught.value
    # One record a line: data row r is line r + 1. The header (line 1) and "no data rows" have no row.
    row = case.line - 1 if case.line and case.line > 1 and "no data rows" not in case.text else None
    assert (error.file, error.line, error.row, error.column) == (paths[case.fault].name, None, row, case.column)
    text = re.sub(r"line (\d+)", lambda m: f"row {int(m.group(1)) - 1}", case.text).replace(".csv", ".parquet")
    assert text in str(error)
    assert str(error).startswith(", ".join([paths[case.fault].name] + ([f"row {row}"] if row else [])))


# --- what only Parquet can get wrong -------------------------------------------------------------------------
def _parquet(tmp_path: Path, name: str, **columns) -> Path:
    path = tmp_path / name
    pq.write_table(pa.table(columns), path)
    return path


@pytest.fixture
def truth(tmp_path):
    return read_truth(_parquet(tmp_path, "truth.parquet", id=["a", "b", "c", "d"], label=[0, 1, 0, 1]), task="binary")


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"id": ["a", None, "c"], "score": [0.1, 0.2, 0.3]}, "p.parquet, row 2, column 1 (id): empty value"),
        ({"id": ["a", "b", "c"], "score": [0.1, None, 0.3]}, "p.parquet, row 2, column 2 (score): empty value"),
        (
            {"id": ["a", "b", "c"], "score": ["0.1", "0.2", "abc"]},
            'p.parquet, row 3, column 2 (score): "abc" is not a number',
        ),
        (
            {"id": ["a", "b", "c"], "score": [0.1, float("nan"), 0.3]},
            "p.parquet, row 2, column 2 (score): nan is not a finite number (NaN and infinity are not allowed)",
        ),
        (
            {"id": ["a", "b", "a"], "score": [0.1, 0.2, 0.3]},
            'p.parquet, row 3, column 1 (id): duplicate id "a" (first on row 1)',
        ),
        ({"id": ["a", "b"], "prob": [0.1, 0.2]}, 'p.parquet, column score: missing column "score"; expected id,score'),
        (
            {"id": ["a", "b"], "score": pa.array([1, 2], pa.timestamp("s"))},
            "p.parquet, column 2 (score): the column holds dates or times (timestamp[ms]); expected numbers",
        ),
        (
            {"id": pa.array([[1], [2]]), "score": [0.1, 0.2]},
            "p.parquet, column 1 (id): the column holds lists (list<element: int64>); expected text or numbers",
        ),
        ({"id": pa.array([], pa.string()), "score": pa.array([], pa.float64())}, "p.parquet: no data rows"),
        (
            {"id": ["a", "zz"], "score": [0.1, 0.2]},
            'p.parquet, row 2, column 1 (id): id "zz" is not in the truth file truth.parquet',
        ),
    ],
)
def test_a_bad_parquet_value_names_its_row_and_column(truth, tmp_path, columns, message):
    path = _parquet(tmp_path, "p.parquet", **columns)
    with pytest.raises(EvaluationInputError) as caught:
        read_predictions(path, truth=truth)
    assert str(caught.value) == message


def test_parquet_types_a_dataframe_would_have_are_read_as_csv_text(tmp_path):
    # Integer ids and groups are their decimal text, booleans 0/1, a dictionary column its values.
    path = _parquet(
        tmp_path,
        "t.parquet",
        id=pa.array([7, 8, 9, 10], pa.int64()),
        label=[False, True, True, False],
        group=pa.array(["g1", "g2", "g1", "g2"]).dictionary_encode(),
    )
    truth = read_truth(path, task="binary")
    assert truth.ids.to_pylist() == ["7", "8", "9", "10"]
    assert truth.y.tolist() == [0, 1, 1, 0] and truth.n_groups == 2
    scores = _parquet(tmp_path, "p.parquet", id=pa.array([10, 7], pa.int32()), score=pa.array([1, 0], pa.int8()))
    predictions = read_predictions(scores, truth=truth)
    assert predictions.present.tolist() == [True, False, False, True]
    assert predictions.scores[[0, 3]].tolist() == [0.0, 1.0]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("t.parquet", lambda good: good[: len(good) // 2], "cannot be read as Parquet"),
        ("t.parquet", lambda good: b"PAR1" + b"\x00" * 40, "cannot be read as Parquet"),
        ("t.parquet", lambda good: BINARY_TRUTH, "is named .parquet but is not a Parquet file"),
        ("t.csv.gz", lambda good: gzip.compress(BINARY_TRUTH)[:-12], "the gzip data is truncated or corrupt"),
        ("t.csv.gz", lambda good: gzip.compress(BINARY_TRUTH)[:10] + b"garbage" * 9, "the gzip data is truncated"),
        (
            "t.csv.zst",
            lambda good: pa.Codec("zstd").compress(BINARY_TRUTH * 50, asbytes=True)[:40],
            "the zstd data is truncated or corrupt",
        ),
    ],
)
def test_an_unreadable_file_gets_a_clear_message(tmp_path, name, content, message):
    good = _convert(_write(tmp_path / "good.csv", BINARY_TRUTH), "parquet").read_bytes()
    path = _write(tmp_path / name, content(good))
    with pytest.raises(EvaluationInputError) as caught:
        read_truth(path, task="binary")
    assert str(caught.value).startswith(f"{name}: ") and message in str(caught.value)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- the stored columnar copy ---------------------------------------------------------------------------------
@pytest.mark.parametrize("task_index", [0, 1, 2], ids=["binary", "multiclass", "regression"])
def test_the_columnar_copy_reads_back_as_the_same_truth_in_slices(task_index, tmp_path):
    task, paths = _datasets(tmp_path)[task_index]
    truth = read_truth(paths["truth"], task=task)
    copy = write_truth_columns(truth, tmp_path / "columns.parquet", row_group_rows=16)
    _same_truth(read_truth(copy, task=task), truth)
    fast = read_truth_columns(copy, task=task, name="truth.csv")
    _same_truth(fast, truth)
    assert fast.name == "truth.csv" and fast.describe() == truth.describe()
    for model in ("challenger", "champion"):
        _same_predictions(read_predictions(paths[model], truth=fast), read_predictions(paths[model], truth=truth))
    assert row_groups(copy) == 4  # 60 rows in slices of 16
    ids = [value for part in truth_slices(copy, columns=["id"]) for value in part.column("id").to_pylist()]
    assert ids == truth.ids.to_pylist()
    (third,) = truth_slices(copy, columns=["id", "label"], groups=[2])
    assert third.column_names == ["id", "label"] and third.column("id").to_pylist() == truth.ids.to_pylist()[32:48]


def test_a_repeated_id_is_the_first_repeat_in_file_order_and_names_its_first_row(tmp_path):
    # The sort-based check against the obvious reference: scan the rows, remember what was seen.
    rng = np.random.default_rng(8)
    for trial in range(200):
        n = int(rng.integers(2, 25))
        ids = [f"x{v}" for v in rng.integers(0, int(rng.integers(2, 30)), n)]
        seen: dict[str, int] = {}
        expected = None
        for row, value in enumerate(ids):
            if value in seen:
                expected = f'row {row + 1}, column 1 (id): duplicate id "{value}" (first on row {seen[value] + 1})'
                break
            seen[value] = row
        path = _parquet(tmp_path, f"t{trial}.parquet", id=ids, label=[k % 2 for k in range(n)])
        if expected is None:
            assert read_truth(path, task="binary").n_rows == n
        else:
            with pytest.raises(EvaluationInputError) as caught:
                read_truth(path, task="binary")
            assert str(caught.value) == f"t{trial}.parquet, {expected}"


def test_a_pandas_index_written_as_a_column_is_not_data(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"id": ["a", "b", "c", "d", "e"], "label": [0, 1, 0, 1, 1]})
    path = tmp_path / "t.parquet"
    frame[frame.id != "c"].to_parquet(path)  # a filtered frame: its index is stored as __index_level_0__
    assert "__index_level_0__" in pq.ParquetFile(path).schema_arrow.names
    truth = read_truth(path, task="binary")
    assert truth.ids.to_pylist() == ["a", "b", "d", "e"] and truth.y.tolist() == [0, 1, 1, 1]


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_a_compressed_file_that_unpacks_too_large_is_refused_before_parsing(tmp_path, monkeypatch, kind):
    from experiments.evaluation import reading

    monkeypatch.setattr(reading, "MAX_DECOMPRESSED_BYTES", 1000)
    path = _write(tmp_path / f"t{SUFFIX[kind]}", _compress(b"id,label\n" + b"a,0\n" * 300, kind))
    with pytest.raises(EvaluationInputError) as caught:
        read_truth(path, task="binary")
    assert str(caught.value).startswith(f"t{SUFFIX[kind]}: unpacks to more than ")
