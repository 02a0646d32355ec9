"""Evaluation inputs kept on disk and read a slice of rows at a time: the engine in bounded memory.

An evaluation too large for one process's memory budget (``fits``) never holds its rows: the shards of
``sharding`` read them here, one row range at a time (``StoredInputs``), and the budget sets the size of
a range (``shard_rows``).

- **Truth** (``prepare_truth``): from the dataset's columnar copy (``columnar``), row group by row group,
  a first pass over the label and group columns finds the classes and the group names (memory: the
  distinct values); a second writes raw arrays in row order: ``y`` (int8 0/1, int32 class index or
  float64) and, with groups, ``group`` (int32 index into the sorted group names — any consistent coding
  will do, the shards order groups canonically). Ids stay in the columnar copy; only the scan pass reads
  them, a row range at a time.
- **Predictions** (``align_predictions``): checked as an upload is (``checking.check_predictions``, the
  readers' messages), and aligned in the same pass without holding either file: the check spills each
  block's ids (with their values, here) to partitions by a hash of the id, and the truth's ids likewise,
  and matches a partition's ids exactly (by text); each matched partition's values are spilled again by
  truth row range, and each range is then written in row order: ``present`` (bool) and ``score`` /
  ``label`` (+ ``proba``, rows × classes) / ``value``, missing rows as the readers leave them (NaN, -1).
- A slice of a column is one ``seek`` and one ``np.fromfile``.

Memory of every step is a block, a partition or a slice, plus what grows with the distinct groups and
classes, never with the rows. Both folders are written under a temporary name and renamed, so a worker
killed while preparing leaves nothing half-written; a prepared folder is kept and reused.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from experiments.evaluation import checking
from experiments.evaluation.errors import EvaluationInputError
from experiments.evaluation.reading import open_source

# Truth rows per range of the second spill, and per write of the aligned columns.
CHUNK_ROWS = 1_000_000
# What an evaluation's rows may take in one process is the budget (``EVALUATION_MEMORY_MB``); the process's
# own memory before it reads a row (interpreter, numpy, pyarrow, Django: about 170 MB) comes on top.
# Peak memory per row of the single-process engine (measured: 0.82 GB at 1M rows, 2.33 GB at 4M rows,
# paired binary with groups) and of a shard per row it holds (``python -m bench memory``).
ENGINE_BYTES_PER_ROW = 560
SHARD_BYTES_PER_ROW = 750
MIN_SHARD_ROWS = 10_000


def fits(n_rows: int, memory_mb: int) -> bool:
    """Whether the single-process engine evaluates ``n_rows`` rows within ``memory_mb``."""
    return n_rows * ENGINE_BYTES_PER_ROW <= memory_mb * 2**20


def shard_rows(memory_mb: int) -> int:
    """Rows a shard may hold within ``memory_mb`` (at least ``MIN_SHARD_ROWS``)."""
    return max(MIN_SHARD_ROWS, int(memory_mb * 2**20 // SHARD_BYTES_PER_ROW))


def _read(path: Path, dtype, start: int, stop: int, width: int = 1) -> np.ndarray:
    dtype = np.dtype(dtype)
    with open(path, "rb") as handle:
        handle.seek(start * width * dtype.itemsize)
        values = np.fromfile(handle, dtype=dtype, count=(stop - start) * width)
    return values.reshape(-1, width) if width > 1 else values


def _publish(tmp: Path, folder: Path) -> None:
    """Rename the finished ``tmp`` folder to ``folder``; a folder another process finished first wins."""
    try:
        os.replace(tmp, folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (folder / "meta.json").exists():
            raise


def _fresh(folder: Path) -> Path:
    folder.parent.mkdir(parents=True, exist_ok=True)
    if folder.exists() and not (folder / "meta.json").exists():
        shutil.rmtree(folder, ignore_errors=True)  # left by an older layout: prepared again
    tmp = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}")
    tmp.mkdir()
    return tmp


# --- the truth -----------------------------------------------------------------------------------------
_Y_TYPES = {"binary": np.int8, "multiclass": np.int32, "regression": np.float64}


@dataclass
class StoredTruth:
    """A prepared truth: its summary (what reports need) and the folder of its row-ordered columns."""

    task: str
    name: str
    n_rows: int
    n_groups: int | None
    classes: tuple[str, ...]
    folder: str
    columns: str  # the columnar copy, for the ids

    def y(self, start: int, stop: int) -> np.ndarray:
        return _read(Path(self.folder) / "y.bin", _Y_TYPES[self.task], start, stop)

    def groups(self, start: int, stop: int) -> np.ndarray | None:
        if self.n_groups is None:
            return None
        return _read(Path(self.folder) / "group.bin", np.int32, start, stop)

    def ids(self, start: int, stop: int) -> pa.Array:
        """Rows ``start:stop`` of the id column, reading only the row groups that hold them."""
        handle = pq.ParquetFile(self.columns)
        parts, first = [], 0
        for index in range(handle.num_row_groups):
            size = handle.metadata.row_group(index).num_rows
            if first < stop and first + size > start:
                column = handle.read_row_group(index, columns=["id"]).column("id")
                a, b = max(start, first) - first, min(stop, first + size) - first
                parts.append(column.slice(a, b - a))
            first += size
        return pa.chunked_array([c for part in parts for c in part.chunks], pa.string()).combine_chunks()


def prepare_truth(columns: str | Path, *, task: str, name: str, folder: str | Path) -> StoredTruth:
    """The truth in the columnar copy ``columns``, prepared in ``folder`` (or read from it if prepared)."""
    folder = Path(folder)
    if not (folder / "meta.json").exists():
        handle = pq.ParquetFile(columns)
        grouped = "group" in handle.schema_arrow.names
        labels, names = pa.array([], pa.string()), pa.array([], pa.string())
        for index in range(handle.num_row_groups):
            part = handle.read_row_group(index, columns=["label"] + (["group"] if grouped else []))
            if task == "multiclass":
                labels = pc.unique(pa.concat_arrays([labels, pc.unique(part.column("label").combine_chunks())]))
            if grouped:
                names = pc.unique(pa.concat_arrays([names, pc.unique(part.column("group").combine_chunks())]))
            del part
        classes = {"binary": ("0", "1"), "regression": ()}.get(task) or tuple(sorted(labels.to_pylist()))
        names = names.take(pc.sort_indices(names))
        tmp = _fresh(folder)
        with open(tmp / "y.bin", "wb") as y_out, open(tmp / "group.bin", "wb") as group_out:
            for index in range(handle.num_row_groups):
                part = handle.read_row_group(index, columns=["label"] + (["group"] if grouped else []))
                label = part.column("label").combine_chunks()
                if task == "binary":
                    y = pc.equal(label, "1").to_numpy(zero_copy_only=False).astype(np.int8)
                elif task == "multiclass":
                    y = pc.index_in(label, value_set=pa.array(classes)).to_numpy(zero_copy_only=False).astype(np.int32)
                else:
                    y = label.to_numpy(zero_copy_only=False).astype(np.float64)
                y.tofile(y_out)
                if grouped:
                    codes = pc.index_in(part.column("group").combine_chunks(), value_set=names)
                    codes.to_numpy(zero_copy_only=False).astype(np.int32).tofile(group_out)
                del part, label, y
        meta = {
            "task": task,
            "name": name,
            "n_rows": handle.metadata.num_rows,
            "n_groups": len(names) if grouped else None,
            "classes": list(classes),
        }
        (tmp / "meta.json").write_text(json.dumps(meta))
        _publish(tmp, folder)
    meta = json.loads((folder / "meta.json").read_text())
    return StoredTruth(
        task=meta["task"],
        name=name,
        n_rows=meta["n_rows"],
        n_groups=meta["n_groups"],
        classes=tuple(meta["classes"]),
        folder=str(folder),
        columns=str(columns),
    )


# --- predictions -------------------------------------------------------------------------------------------
@dataclass
class StoredPredictions:
    """Predictions aligned to a prepared truth's rows, on disk; what reports need of them in memory."""

    task: str
    name: str
    file: str  # the prediction file as stored, for messages that point into it
    folder: str
    n_rows: int  # truth rows
    n_rows_in_file: int
    n_covered: int
    n_classes: int
    has_proba: bool
    first_outside: tuple[int, int, float] | None  # binary: truth row, file row, score outside [0, 1]

    @property
    def coverage(self) -> float:
        return self.n_covered / self.n_rows

    @property
    def is_probability(self) -> bool:
        if self.task == "binary":
            return self.n_covered > 0 and self.first_outside is None
        return self.has_proba

    def describe(self) -> dict:
        return {
            "rows": self.n_rows_in_file,
            "covered": self.n_covered,
            "missing": self.n_rows - self.n_covered,
            "fraction": self.coverage,
        }

    def error(self, message: str, *, file_row: int, column: str) -> EvaluationInputError:
        """An error about this file's row ``file_row`` (0-based), with its line as the readers give it."""
        return open_source(self.file, self.name).error(message, row=file_row, column=column)

    def read(self, start: int, stop: int) -> dict[str, np.ndarray | None]:
        """Rows ``start:stop`` as ``sharding.Rows`` holds a model's predictions."""
        folder = Path(self.folder)
        out: dict[str, np.ndarray | None] = {
            "present": _read(folder / "present.bin", np.bool_, start, stop),
            "labels": None,
            "proba": None,
            "values": None,
            "scores": None,
        }
        if self.task == "binary":
            out["scores"] = _read(folder / "score.bin", np.float64, start, stop)
        elif self.task == "multiclass":
            out["labels"] = _read(folder / "label.bin", np.int32, start, stop)
            if self.has_proba:
                out["proba"] = _read(folder / "proba.bin", np.float64, start, stop, self.n_classes)
        else:
            out["values"] = _read(folder / "value.bin", np.float64, start, stop)
        return out


class _Spill:
    """Record batches written to ``parts`` stream files, each row to the file ``part[row]`` names."""

    def __init__(self, folder: Path, name: str, schema: pa.Schema, parts: int) -> None:
        self.schema, self.parts = schema, parts
        self.paths = [folder / f"{name}-{k}.arrow" for k in range(parts)]
        self._writers: list = [None] * parts

    def add(self, table: pa.Table, part: np.ndarray) -> None:
        if not table.num_rows:
            return
        order = np.argsort(part, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(part, minlength=self.parts))])
        ordered = table.take(pa.array(order))
        for k in np.flatnonzero(np.diff(bounds)):
            if self._writers[k] is None:
                self._writers[k] = pa.ipc.new_stream(str(self.paths[k]), self.schema)
            chunk = ordered.slice(int(bounds[k]), int(bounds[k + 1] - bounds[k]))
            self._writers[k].write_table(chunk.cast(self.schema))

    def close(self) -> None:
        for k, writer in enumerate(self._writers):
            if writer is not None:
                writer.close()
                self._writers[k] = None

    def read(self, k: int) -> pa.Table:
        if not self.paths[k].exists():
            return self.schema.empty_table()
        with pa.ipc.open_stream(str(self.paths[k])) as reader:
            return reader.read_all().combine_chunks()


def align_predictions(
    path: str | Path, *, truth: StoredTruth, folder: str | Path, name: str | None = None
) -> StoredPredictions:
    """The prediction file ``path`` checked against ``truth`` and aligned to its rows in ``folder`` (or
    read from it if aligned before). Raises ``EvaluationInputError`` as ``read_predictions`` would."""
    folder, path = Path(folder), Path(path)
    name = name or path.name
    if not (folder / "meta.json").exists():
        _align(path, truth, folder, name)
    meta = json.loads((folder / "meta.json").read_text())
    outside = meta["first_outside"]
    return StoredPredictions(
        task=truth.task,
        name=name,
        file=str(path),
        folder=str(folder),
        n_rows=truth.n_rows,
        n_rows_in_file=meta["n_rows_in_file"],
        n_covered=meta["n_covered"],
        n_classes=len(truth.classes),
        has_proba=meta["has_proba"],
        first_outside=(int(outside[0]), int(outside[1]), float(outside[2])) if outside else None,
    )


def _align(path: Path, truth: StoredTruth, folder: Path, name: str) -> None:
    task, n = truth.task, truth.n_rows
    given: tuple[str, ...] = ()
    if task == "multiclass":
        header = open_source(path, name).header
        given = tuple(f"p_{label}" for label in truth.classes if f"p_{label}" in header)
    numeric = {"binary": ("score",), "multiclass": given, "regression": ("prediction",)}[task]
    placed = pa.schema([("row", pa.int64()), ("file_row", pa.int64()), *checking.value_fields(task, numeric)])
    tmp = _fresh(folder)
    try:
        by_row = _Spill(tmp, "placed", placed, max(1, math.ceil(n / CHUNK_ROWS)))

        def on_match(rows: np.ndarray, values: pa.Table) -> None:
            # The check's matched partitions, spilled again by truth row range.
            table = values.rename_columns(["file_row", *values.column_names[1:]]).add_column(0, "row", pa.array(rows))
            by_row.add(table, rows // CHUNK_ROWS)

        try:
            checked = checking.check_predictions(
                path,
                task=task,
                columns=truth.columns,
                classes=truth.classes,
                truth_name=truth.name,
                name=name,
                on_match=on_match,
            )
        finally:
            by_row.close()
        meta = _write_aligned(tmp, by_row, task, n, given, len(truth.classes))
        meta.update(n_rows_in_file=checked.n_rows_in_file, has_proba=bool(given))
        for spilled in tmp.glob("*.arrow"):
            spilled.unlink()
        (tmp / "meta.json").write_text(json.dumps(meta))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _publish(tmp, folder)


def _write_aligned(tmp: Path, by_row: _Spill, task: str, n: int, given: tuple[str, ...], n_classes: int) -> dict:
    """Write each truth row range's predictions in row order; gives the summary the reports need."""
    names = {"binary": ["score"], "multiclass": ["label"] + (["proba"] if given else []), "regression": ["value"]}
    outputs = {column: open(tmp / f"{column}.bin", "wb") for column in ["present", *names[task]]}  # noqa: SIM115
    covered, outside = 0, None
    try:
        for k in range(by_row.parts):
            start, stop = k * CHUNK_ROWS, min(n, (k + 1) * CHUNK_ROWS)
            table = by_row.read(k)
            at = table.column("row").to_numpy() - start
            present = np.zeros(stop - start, dtype=np.bool_)
            present[at] = True
            covered += len(at)
            present.tofile(outputs["present"])
            if task == "binary":
                scores = np.full(stop - start, np.nan)
                scores[at] = table.column("score").to_numpy()
                bad = np.flatnonzero(present & ((scores < 0) | (scores > 1)))
                if outside is None and len(bad):
                    first = int(bad[0])
                    file_row = int(table.column("file_row").to_numpy()[np.flatnonzero(at == first)[0]])
                    outside = (start + first, file_row, float(scores[first]))
                scores.tofile(outputs["score"])
            elif task == "multiclass":
                labels = np.full(stop - start, -1, dtype=np.int32)
                labels[at] = table.column("label").to_numpy()
                labels.tofile(outputs["label"])
                if given:
                    proba = np.full((stop - start, n_classes), np.nan)
                    for j, column in enumerate(given):
                        proba[at, j] = table.column(column).to_numpy()
                    proba.tofile(outputs["proba"])
            else:
                values = np.full(stop - start, np.nan)
                values[at] = table.column("prediction").to_numpy()
                values.tofile(outputs["value"])
            del table, at, present
    finally:
        for handle in outputs.values():
            handle.close()
    return {
        "n_covered": covered,
        "first_outside": list(outside) if outside else None,
    }


# --- slices of rows ----------------------------------------------------------------------------------------
@dataclass
class StoredInputs:
    """A ``sharding`` source over a prepared truth and aligned predictions: ``(start, stop) → Rows``."""

    truth: StoredTruth
    models: dict[str, StoredPredictions]
    threshold: float = 0.5

    def __call__(self, start: int, stop: int, *, models: tuple[str, ...] | None = None, ids: bool = False):
        from experiments.evaluation.sharding import Rows  # sharding imports this module

        truth = self.truth
        return Rows(
            task=truth.task,
            start=start,
            stop=stop,
            y=truth.y(start, stop),
            groups=truth.groups(start, stop),
            ids=truth.ids(start, stop) if ids and truth.n_groups is not None else None,
            n_classes=len(truth.classes),
            models={who: p.read(start, stop) for who, p in self.models.items() if models is None or who in models},
            threshold=self.threshold,
        )
