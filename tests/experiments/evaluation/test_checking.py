"""Checking an upload in bounded memory: the readers' messages for every bad input, in every format, with
the file cut into many blocks and partitions; the same columnar copy and counts for good files; and a
check's memory that does not grow with the file."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from experiments.evaluation import EvaluationInputError, checking, read_predictions, read_truth, reading
from experiments.evaluation.checking import check_predictions, check_truth
from experiments.evaluation.columnar import ROW_GROUP_ROWS, read_truth_columns, write_truth_columns
from tests.experiments.evaluation.helpers import BAD_INPUTS, BadInput
from tests.experiments.evaluation.test_formats import (
    COMPRESSIBLE,
    _convert,
    _datasets,
    _parquet_cases,
    _write_parquet_text,
)


@pytest.fixture(params=["whole", "small blocks"])
def blocks(request, monkeypatch):
    """Every case twice: in one block and partition, and cut into blocks of a few rows spilled to many
    partitions (so a repeat or a match crosses blocks, and the first failure is not in the first block)."""
    if request.param == "small blocks":
        monkeypatch.setattr(reading, "BLOCK_ROWS", 2)
        monkeypatch.setattr(reading, "BLOCK_BYTES", 256)
        monkeypatch.setattr(checking, "PARTITION_ROWS", 1)
    return request.param


def _error(call) -> EvaluationInputError | None:
    try:
        call()
    except EvaluationInputError as error:
        return error
    return None


def _same(a: EvaluationInputError | None, b: EvaluationInputError | None) -> None:
    assert (a is None) == (b is None), (a, b)
    if a is not None:
        assert (str(a), a.file, a.line, a.row, a.column) == (str(b), b.file, b.line, b.row, b.column)


def _compare(task: str, paths: dict[str, Path], folder: Path) -> None:
    """The check gives what the readers give: the truth's error, else each prediction file's error
    against the truth as the upload reads it (its columnar copy, named as uploaded)."""
    truth_path = paths["truth"]
    expected = _error(lambda: read_truth(truth_path, task=task))
    columns = folder / "truth.columns.parquet"
    got = _error(lambda: check_truth(truth_path, task=task, columns=columns))
    _same(got, expected)
    if expected is not None:
        assert not columns.exists()
        return
    truth = read_truth_columns(columns, task=task, name=truth_path.name)
    for name in ("predictions", "champion"):
        if name in paths:
            expected = _error(lambda file=paths[name]: read_predictions(file, truth=truth))
            got = _error(
                lambda file=paths[name]: check_predictions(
                    file, task=task, columns=columns, classes=truth.classes, truth_name=truth.name
                )
            )
            _same(got, expected)


@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda c: c.name)
def test_a_bad_csv_file_gets_the_readers_message(case: BadInput, blocks, tmp_path):
    _compare(case.task, case.write(tmp_path), tmp_path)


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
@pytest.mark.parametrize("case", COMPRESSIBLE, ids=lambda c: c.name)
def test_a_bad_compressed_file_gets_the_readers_message(case: BadInput, kind, blocks, tmp_path):
    paths = {name: _convert(path, kind) for name, path in case.write(tmp_path).items()}
    _compare(case.task, paths, tmp_path)


@pytest.mark.parametrize("case", _parquet_cases(), ids=lambda c: c.name)
def test_a_bad_parquet_file_gets_the_readers_message(case: BadInput, blocks, tmp_path):
    paths = {"truth": _write_parquet_text(case.truth, tmp_path / "truth.parquet")}
    paths["predictions"] = _write_parquet_text(case.predictions, tmp_path / "predictions.parquet")
    if case.champion:
        paths["champion"] = _write_parquet_text(case.champion, tmp_path / "champion.parquet")
    _compare(case.task, paths, tmp_path)


@pytest.mark.parametrize("kind", ["csv", "zstd", "parquet"])
def test_a_good_file_gives_the_readers_counts_and_the_same_columnar_copy(kind, blocks, tmp_path):
    for task, paths in _datasets(tmp_path):
        if kind != "csv":
            paths = {name: _convert(path, kind) for name, path in paths.items()}
        truth = read_truth(paths["truth"], task=task)
        expected = write_truth_columns(truth, tmp_path / f"{task}-expected.parquet", row_group_rows=7)
        columns = tmp_path / f"{task}.parquet"
        checked = check_truth(paths["truth"], task=task, columns=columns, row_group_rows=7)
        assert pq.read_table(columns).equals(pq.read_table(expected))
        assert [g.num_rows for g in _row_groups(columns)] == [g.num_rows for g in _row_groups(expected)]
        assert (checked.n_rows, checked.n_groups, checked.class_counts, checked.classes) == (
            truth.n_rows,
            truth.n_groups,
            truth.class_counts,
            truth.classes,
        )
        for model in ("challenger", "champion"):
            predictions = read_predictions(paths[model], truth=truth)
            got = check_predictions(paths[model], task=task, columns=columns, classes=truth.classes)
            assert (got.n_rows_in_file, got.n_covered) == (predictions.n_rows_in_file, predictions.n_covered)


def _row_groups(path: Path) -> list:
    metadata = pq.ParquetFile(path).metadata
    return [metadata.row_group(k) for k in range(metadata.num_row_groups)]


def test_the_columnar_row_groups_are_the_readers():
    assert checking._ROW_GROUP_ROWS == ROW_GROUP_ROWS


def test_a_repeat_and_a_stranger_far_apart_are_found_across_blocks_and_partitions(monkeypatch, tmp_path):
    monkeypatch.setattr(reading, "BLOCK_ROWS", 1000)
    monkeypatch.setattr(checking, "PARTITION_ROWS", 700)
    n = 20_000
    ids = [f"id{k}" for k in range(n)]
    truth = tmp_path / "truth.parquet"
    pq.write_table(pa.table({"id": ids, "label": np.arange(n) % 2}), truth, row_group_size=3000)
    columns = tmp_path / "columns.parquet"
    check_truth(truth, task="binary", columns=columns)
    repeated = ids[::-1]
    repeated[15_000] = repeated[12]  # row 15001 repeats row 13
    predictions = tmp_path / "predictions.parquet"
    pq.write_table(pa.table({"id": repeated, "score": np.linspace(0, 1, n)}), predictions)
    with pytest.raises(
        EvaluationInputError, match=r'row 15001, column 1 \(id\): duplicate id "id19987" \(first on row 13\)'
    ):
        check_predictions(predictions, task="binary", columns=columns)
    repeated[17_000] = "stranger"  # a stranger comes before any repeat is raised, wherever it is
    pq.write_table(pa.table({"id": repeated, "score": np.linspace(0, 1, n)}), predictions)
    with pytest.raises(EvaluationInputError, match=r'row 17001, column 1 \(id\): id "stranger" is not in the truth'):
        check_predictions(predictions, task="binary", columns=columns)


# --- memory -------------------------------------------------------------------------------------------------
def _peak(call) -> int:
    """Peak bytes held by Python objects and numpy (tracemalloc) plus arrow's pool, while ``call`` runs."""
    pool = pa.default_memory_pool()
    arrow_before = pool.bytes_allocated()
    arrow_peak = [0]

    def sample() -> None:
        arrow_peak[0] = max(arrow_peak[0], pool.bytes_allocated() - arrow_before)

    tracemalloc.start()
    try:
        result = call(sample)
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return python_peak + arrow_peak[0], result


def test_checking_a_large_file_holds_a_block_and_a_partition_not_the_file(monkeypatch, tmp_path):
    """2M rows checked in blocks and partitions of 50,000 rows: the peak follows the block, not the file; it
    stays under 16 MiB, less than half of what the predictions' columns alone take as arrow arrays (37 MB).

    tracemalloc sees numpy's and Python's allocations; arrow's pool is sampled after every block."""
    monkeypatch.setattr(reading, "BLOCK_ROWS", 50_000)
    monkeypatch.setattr(checking, "PARTITION_ROWS", 50_000)
    n = 2_000_000
    ids = pa.array(np.arange(n)).cast(pa.string())
    truth = tmp_path / "truth.parquet"
    pq.write_table(
        pa.table({"id": ids, "label": (np.arange(n) % 3 == 0).astype(np.int8)}), truth, row_group_size=100_000
    )
    predictions = tmp_path / "predictions.parquet"
    pq.write_table(pa.table({"id": ids, "score": np.linspace(0, 1, n)}), predictions, row_group_size=100_000)
    whole = pa.table({"id": ids, "score": np.linspace(0, 1, n)}).nbytes
    del ids
    columns = tmp_path / "columns.parquet"

    blocks = reading._ParquetFile.blocks

    def counted(sample):
        def wrapped(self, numeric=()):
            for item in blocks(self, numeric):
                sample()
                yield item
                sample()

        monkeypatch.setattr(reading._ParquetFile, "blocks", wrapped)
        spill_read = checking._Spill.read

        def read(self, k):
            result = spill_read(self, k)
            sample()
            return result

        monkeypatch.setattr(checking._Spill, "read", read)

    def truth_check(sample):
        counted(sample)
        return check_truth(truth, task="binary", columns=columns, row_group_rows=50_000)

    def predictions_check(sample):
        counted(sample)
        return check_predictions(predictions, task="binary", columns=columns)

    bound = 16 * 1024**2  # what blocks and partitions of 50,000 rows need, with room to spare
    assert whole > 2 * bound
    peak, checked = _peak(truth_check)
    assert checked.n_rows == n
    assert peak < bound, (peak, bound)
    peak, checked = _peak(predictions_check)
    assert checked.n_covered == n
    assert peak < bound, (peak, bound)
