"""Files in the formats the readers accept, and the columnar copy of a stored ground truth.

An accepted truth is also kept as Parquet with fixed-size row groups (``ROW_GROUP_ROWS``) and only the
columns the engine reads, already checked and trimmed: ``id`` and ``group`` as text, ``label`` as text
(binary, multiclass) or float64 (regression). ``read_truth_columns`` reads it back as exactly the
truth it was written from, without parsing text or checking again (``read_truth`` would accept it too,
at the cost of the checks); a worker that needs only some rows or some columns reads those row groups
or columns (``truth_slices``) instead of the whole file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from experiments.evaluation.reading import CSV, GZIP, PARQUET, ZSTD, Truth, parquet_source

ROW_GROUP_ROWS = 1_000_000


def truth_table(truth: Truth) -> pa.Table:
    """The validated truth as a table of the columns the engine reads, in file order."""
    source = truth.source
    if truth.task == "regression":
        label = pa.array(truth.y, type=pa.float64())
    else:
        label = pc.utf8_trim_whitespace(source.table.column("label").combine_chunks())
    columns = {"id": truth.ids, "label": label}
    if truth.groups is not None:
        columns["group"] = source.text("group")
    return pa.table(columns)


def write_truth_columns(truth: Truth, target: str | Path, *, row_group_rows: int = ROW_GROUP_ROWS) -> Path:
    """Write ``truth``'s columnar copy to ``target`` atomically (a temporary name, then a rename)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".columns-", suffix=".parquet")
    os.close(fd)
    try:
        pq.write_table(truth_table(truth), tmp_name, row_group_size=row_group_rows, compression="zstd")
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def read_truth_columns(path: str | Path, *, task: str, name: str | None = None) -> Truth:
    """The truth in a columnar copy ``write_truth_columns`` wrote, read without checking it again.

    ``name`` is the name messages give the truth (the file as uploaded). Gives what ``read_truth`` gives
    for the original file, with rows (not lines) in messages that point into it.
    """
    source = parquet_source(path, name, numeric=("label",) if task == "regression" else ())
    table = source.table
    label = table.column("label").combine_chunks()
    classes: tuple[str, ...] = ()
    if task == "binary":
        y = pc.equal(label, "1").to_numpy(zero_copy_only=False).astype(np.int8)
        classes = ("0", "1")
    elif task == "multiclass":
        encoded = pc.dictionary_encode(label)
        found = encoded.dictionary.to_pylist()
        classes = tuple(sorted(found))
        remap = np.array([classes.index(value) for value in found], dtype=np.int32)
        y = remap[encoded.indices.to_numpy()]
    else:
        y = label.to_numpy()
    del label
    groups, n_groups = None, None
    if "group" in source.header:
        encoded = pc.dictionary_encode(table.column("group").combine_chunks())
        groups, n_groups = encoded.indices.to_numpy().astype(np.int32), len(encoded.dictionary)
    ids = table.column("id").combine_chunks()
    # One copy of the ids, not the row groups' and a combined one.
    source.table = table.set_column(table.column_names.index("id"), "id", pa.chunked_array([ids], ids.type))
    del table
    return Truth(
        task=task, name=source.name, ids=ids, y=y, classes=classes, groups=groups, n_groups=n_groups, source=source
    )


def row_groups(path: str | Path) -> int:
    """How many row groups (slices of ``ROW_GROUP_ROWS`` rows) a columnar file has."""
    return pq.ParquetFile(path).num_row_groups


def truth_slices(
    path: str | Path, *, columns: list[str] | None = None, groups: list[int] | None = None
) -> Iterator[pa.Table]:
    """The row groups ``groups`` (all by default) of a columnar file, one table each, with only ``columns``."""
    handle = pq.ParquetFile(path)
    for index in range(handle.num_row_groups) if groups is None else groups:
        yield handle.read_row_group(index, columns=columns)


def write_table(table: pa.Table, path: str | Path, kind: str, *, row_group_rows: int = ROW_GROUP_ROWS) -> Path:
    """Write ``table`` as ``csv``, ``gzip`` or ``zstd`` (compressed CSV) or ``parquet``: files the
    readers accept, for tests, benchmarks and the demo."""
    path = Path(path)
    if kind == PARQUET:
        pq.write_table(table, path, row_group_size=row_group_rows)
        return path
    if kind not in (CSV, GZIP, ZSTD):
        raise ValueError(f"unknown format {kind!r}")
    options = pcsv.WriteOptions(quoting_style="needed")
    with pa.output_stream(str(path), compression=None if kind == CSV else kind) as stream:
        pcsv.write_csv(table, stream, write_options=options)
    return path
