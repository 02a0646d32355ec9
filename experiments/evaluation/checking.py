"""Checking an uploaded truth or prediction file in bounded memory, with ``read_truth``'s and
``read_predictions``' messages.

The readers in ``reading`` hold every column of a file, which the engine needs; an upload only needs
to know that the file is right (and, for a truth, to write its columnar copy). Here the file is read in
blocks (Parquet by row groups, CSV by pyarrow's streaming reader) and each block is checked as it comes:
empty values, numbers, labels, probabilities. The first failure of each kind is remembered with its row;
at the end the failures are raised in the order the readers check them, so the message (row or line,
column, text) is the one ``read_truth``/``read_predictions`` give for the same file.

Ids are the one check that needs the whole file: repeats, and predictions matched against the truth.
Each block's ids are hashed (64 bits) and spilled to disk by hash into partitions (``_Spill``), each a
small fraction of the file; a partition is then read back and compared exactly, by the text of the ids
(equal ids always share a partition). A hash only decides where an id goes, never whether two ids are
equal, so a collision cannot make a false repeat or a false match. Memory is a block plus a partition,
whatever the file's size.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from experiments.evaluation.reading import (
    PROBABILITY_SUM_TOLERANCE,
    _check_columns,
    _check_task,
    _CsvFile,
    _first_uncastable,
    _quote,
    _Source,
    open_source,
)

# Ids compared at once, about: a partition of the spilled ids.
PARTITION_ROWS = 500_000
_ROW_GROUP_ROWS = 1_000_000  # columnar.ROW_GROUP_ROWS (columnar imports reading; kept equal by a test)
_HASH_ROWS = 16_384
_SPILL = pa.schema([("id", pa.string()), ("row", pa.int64())])


# --- the first failure of each kind ---------------------------------------------------------------------
class _Failures:
    """The first failure of each kind of check (the smallest row), raised in the readers' order."""

    def __init__(self, source: _Source) -> None:
        self.source = source
        self.found: dict[tuple, tuple[int, str | tuple[str, str], str | None]] = {}

    def note(self, key: tuple, row: int, message, column: str | None) -> None:
        if key not in self.found or row < self.found[key][0]:
            self.found[key] = (row, message, column)

    def __contains__(self, key: tuple) -> bool:
        return key in self.found

    def raise_first(self, keys: list[tuple], *, text_numbers: bool = False) -> None:
        for key in keys:
            if key in self.found:
                row, message, column = self.found[key]
                if isinstance(message, tuple):  # a non-finite number: as the number, or as the text read
                    message = message[1 if text_numbers or self._is_text(column) else 0]
                raise self.source.error(message, row=None if row < 0 else row, column=column)

    def _is_text(self, column: str) -> bool:
        """A Parquet text column holding numbers quotes them as text (a CSV file decides for the whole
        file, ``text_numbers``)."""
        types = getattr(self.source, "_types", None)
        if types is None:
            return False
        kind = types[column]
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)


def _first(mask: np.ndarray) -> int | None:
    return int(np.argmax(mask)) if mask.any() else None


def _text(failures: _Failures, table: pa.Table, column: str, offset: int) -> pa.Array:
    """A block's column as trimmed text, noting its first empty value."""
    values = pc.utf8_trim_whitespace(table.column(column).combine_chunks())
    empty = pc.fill_null(pc.equal(pc.utf8_length(values), 0), True).to_numpy(zero_copy_only=False)
    row = _first(empty)
    if row is not None:
        failures.note((column, "empty"), offset + row, "empty value", column)
    return values


class _Numbers:
    """A numeric column checked block by block as ``_Source.numbers`` checks it whole."""

    def __init__(self, failures: _Failures) -> None:
        self.failures = failures
        self.text_mode = False  # a CSV value pyarrow cannot read as a number: the file was re-read as text

    def check(self, table: pa.Table, column: str, offset: int) -> np.ndarray:
        raw = table.column(column).combine_chunks()
        if raw.type == pa.float64():  # a Parquet number column
            values = raw.to_numpy(zero_copy_only=False)
            nulls = raw.is_null().to_numpy(zero_copy_only=False)
            row = _first(nulls)
            if row is not None:
                self.failures.note((column, "bad"), offset + row, "empty value", column)
            self._finite(values, ~nulls, None, column, offset)
            return values
        values = pc.utf8_trim_whitespace(raw)
        try:
            parsed = pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            row = _first_uncastable(values)
            text = values[row].as_py()
            message = "empty value" if text == "" else f"{_quote(text)} is not a number"
            self.failures.note((column, "bad"), offset + row, message, column)
            if not self.text_mode:
                # pyarrow's CSV reader takes an empty field as a missing number but any other value it
                # cannot read makes the reader's file text: the non-finite message quotes the text then.
                empty = pc.equal(raw, "")
                try:
                    pc.cast(pc.if_else(empty, "0", values), pa.float64())
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    self.text_mode = True
            return np.full(len(values), np.nan)
        self._finite(parsed, None, values, column, offset)
        return parsed

    def _finite(self, numbers: np.ndarray, known: np.ndarray | None, text: pa.Array | None, column, offset) -> None:
        bad = ~np.isfinite(numbers)
        if known is not None:
            bad &= known
        row = _first(bad)
        if row is None:
            return
        tail = "is not a finite number (NaN and infinity are not allowed)"
        as_text = _quote(text[row].as_py()) if text is not None else repr(float(numbers[row]))
        self.failures.note(
            (column, "inf"), offset + row, (f"{float(numbers[row])!r} {tail}", f"{as_text} {tail}"), column
        )


# --- ids, spilled by hash ---------------------------------------------------------------------------------
class _Spill:
    """Ids and their rows (and, when given, values that go with them), written to ``parts`` files by a hash
    of the id; equal ids share a file."""

    def __init__(self, folder: Path, name: str, parts: int, extra: list[tuple[str, pa.DataType]] = ()) -> None:
        self.parts = parts
        self.schema = pa.schema([*_SPILL, *extra]) if extra else _SPILL
        self.paths = [folder / f"{name}-{k}.arrow" for k in range(parts)]
        self._writers: list[pa.ipc.RecordBatchStreamWriter | None] = [None] * parts

    def add(self, ids: pa.Array, offset: int, values: list[pa.Array] = ()) -> None:
        if not len(ids):
            return
        if ids.type != pa.string():
            ids = ids.cast(pa.string())
        batch = pa.record_batch(
            [ids, pa.array(np.arange(offset, offset + len(ids), dtype=np.int64)), *values], schema=self.schema
        )
        if self.parts == 1:
            self._write(0, batch)
            return
        hashes = _hashes(ids)
        part = (hashes % np.uint64(self.parts)).astype(np.int64)
        del hashes
        order = np.argsort(part, kind="stable")  # file order within each partition
        bounds = np.concatenate([[0], np.cumsum(np.bincount(part, minlength=self.parts))])
        del part
        ordered = batch.take(pa.array(order))
        for k in range(self.parts):
            if bounds[k + 1] > bounds[k]:
                start, stop = int(bounds[k]), int(bounds[k + 1])
                self._write(k, ordered.slice(start, stop - start))

    def _write(self, k: int, batch: pa.RecordBatch) -> None:
        if self._writers[k] is None:
            self._writers[k] = pa.ipc.new_stream(str(self.paths[k]), self.schema)
        self._writers[k].write_batch(batch)

    def close(self) -> None:
        for k, writer in enumerate(self._writers):
            if writer is not None:
                writer.close()
                self._writers[k] = None

    def table(self, k: int) -> pa.Table:
        """Partition ``k``, in file order."""
        if not self.paths[k].exists():
            return self.schema.empty_table()
        with pa.ipc.open_stream(str(self.paths[k])) as reader:
            return reader.read_all().combine_chunks()

    def read(self, k: int) -> tuple[pa.Array, np.ndarray]:
        """Partition ``k``: its ids and their rows, in file order."""
        table = self.table(k)
        return table.column("id").combine_chunks(), table.column("row").combine_chunks().to_numpy()


_PRIME = np.uint64(1099511628211)
_POWERS = np.ones(1, dtype=np.uint64)


def _powers(length: int) -> np.ndarray:
    """``_PRIME`` to the powers 0 … ``length`` - 1 (mod 2⁶⁴), kept and grown as longer ids come."""
    global _POWERS
    if len(_POWERS) < length:
        powers = np.empty(length, dtype=np.uint64)
        powers[0] = 1
        for k in range(1, length):
            powers[k] = powers[k - 1] * _PRIME
        _POWERS = powers
    return _POWERS


def _hashes(ids: pa.Array) -> np.ndarray:
    """A 64-bit hash of each id's bytes, computed on the Arrow buffers (no Python strings): a polynomial
    in the bytes, then mixed (splitmix64's finaliser). Only ever decides an id's partition."""
    if ids.type != pa.string():
        ids = ids.cast(pa.string())
    n = len(ids)
    hashes = np.zeros(n, dtype=np.uint64)
    if n == 0:
        return hashes
    _, offsets_buffer, data_buffer = ids.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32, count=n + 1, offset=ids.offset * 4).astype(np.int64)
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.empty(0, np.uint8)
    for start in range(0, n, _HASH_ROWS):  # temporaries of ~30 bytes per byte of id, a slice at a time
        stop = min(n, start + _HASH_ROWS)
        first, last = offsets[start], offsets[stop]
        lengths = np.diff(offsets[start : stop + 1])
        filled = lengths > 0
        if last == first:
            continue
        bytes_ = data[first:last].astype(np.uint64)
        begins = offsets[start:stop] - first
        position = np.arange(last - first, dtype=np.int64) - np.repeat(begins, lengths)
        with np.errstate(over="ignore"):
            terms = bytes_ * _powers(int(lengths.max()))[position]
            sums = np.add.reduceat(terms, begins[filled])
            mixed = sums + lengths[filled].astype(np.uint64)
            mixed ^= mixed >> np.uint64(30)
            mixed *= np.uint64(0xBF58476D1CE4E5B9)
            mixed ^= mixed >> np.uint64(27)
            mixed *= np.uint64(0x94D049BB133111EB)
            mixed ^= mixed >> np.uint64(31)
        hashes[start:stop][filled] = mixed
    return hashes


def _parts(rows: int) -> int:
    return max(1, math.ceil(rows / PARTITION_ROWS))


def _first_repeat(ids: pa.Array, rows: np.ndarray) -> tuple[int, int, str] | None:
    """The first repeat in file order among ``ids`` (in file order): its row, its first row, the id."""
    n = len(ids)
    if n < 2 or pc.count_distinct(ids).as_py() == n:  # a hash count is cheaper than the sort
        return None
    order = pc.sort_indices(ids)  # stable: equal ids stay in file order
    ordered = ids.take(order)
    same = pc.equal(ordered.slice(1), ordered.slice(0, n - 1))
    if not pc.any(same).as_py():
        return None
    same = same.to_numpy(zero_copy_only=False)
    sorted_rows = rows[order.to_numpy()]
    pairs = np.flatnonzero(same)
    k = int(pairs[np.argmin(sorted_rows[pairs + 1])])
    row, value = int(sorted_rows[k + 1]), ordered[k + 1].as_py()
    while k > 0 and same[k - 1]:
        k -= 1
    return row, int(sorted_rows[k]), value


def _repeats(failures: _Failures, spill: _Spill, source: _Source) -> None:
    for k in range(spill.parts):
        ids, rows = spill.read(k)
        found = _first_repeat(ids, rows)
        if found is not None:
            row, first, value = found
            failures.note(("id", "repeat"), row, f"duplicate id {_quote(value)} (first on {source.place(first)})", "id")


def _estimated_rows(source: _Source) -> int:
    """Rows to plan partitions for (an overestimate for CSV: about 8 bytes a row)."""
    if isinstance(source, _CsvFile):
        return max(1, source.unpacked_size // 8)
    return source._file.metadata.num_rows


# --- ground truth -----------------------------------------------------------------------------------------
@dataclass
class TruthCheck:
    """What an accepted truth file holds (as ``Truth.describe`` tells it), its columnar copy written."""

    task: str
    n_rows: int
    n_groups: int | None
    classes: tuple[str, ...]
    class_counts: dict[str, int] = field(default_factory=dict)


def check_truth(
    path: str | Path, *, task: str, columns: str | Path, name: str | None = None, row_group_rows: int = _ROW_GROUP_ROWS
) -> TruthCheck:
    """Check a ground-truth file as ``read_truth`` does, in bounded memory, and write its columnar copy to
    ``columns`` (what ``columnar.write_truth_columns`` writes for the same file).

    Raises ``EvaluationInputError`` with ``read_truth``'s message; ``columns`` is then not written."""
    _check_task(task)
    source = open_source(path, name)
    _check_columns(source, required=("id", "label"), optional=("group",), layout="id,label[,group]")
    columns = Path(columns)
    columns.parent.mkdir(parents=True, exist_ok=True)
    state = _TruthState(source, task)
    fd, tmp_name = tempfile.mkstemp(dir=columns.parent, prefix=".columns-", suffix=".parquet")
    os.close(fd)
    try:
        with tempfile.TemporaryDirectory(prefix="agileml-check-") as folder:
            spill = _Spill(Path(folder), "truth", _parts(_estimated_rows(source)))
            writer = _ColumnWriter(tmp_name, task, state.grouped, row_group_rows)
            try:
                for offset, table in source.blocks(numeric=("label",) if task == "regression" else ()):
                    ids = _text(state.failures, table, "id", offset)
                    spill.add(ids, offset)
                    label, group = state.block(table, offset)
                    if not state.failures.found:
                        writer.write(ids, label, group)
                    del table, ids, label, group
            finally:
                spill.close()
                writer.close()
            if ("id", "empty") not in state.failures:
                _repeats(state.failures, spill, source)
        checked = state.verdict()
        os.replace(tmp_name, columns)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return checked


class _TruthState:
    """What the truth's blocks told so far: labels counted, groups seen, failures noted."""

    def __init__(self, source: _Source, task: str) -> None:
        self.source, self.task = source, task
        self.failures = _Failures(source)
        self.numbers = _Numbers(self.failures)
        self.grouped = "group" in source.header
        self.counts: dict[str, int] = {}
        self.groups = pa.array([], pa.string())
        self.first_label: float | None = None
        self.varied = False

    def block(self, table: pa.Table, offset: int) -> tuple[pa.Array, pa.Array | None]:
        """Check a block's labels and groups; gives them as the columnar copy holds them."""
        if self.task == "regression":
            values = self.numbers.check(table, "label", offset)
            if self.first_label is None:
                self.first_label = float(values[0])
            self.varied = self.varied or bool(np.any(values != self.first_label))
            label = pa.array(values, pa.float64())
        else:
            label = pc.utf8_trim_whitespace(table.column("label").combine_chunks())
            if self.task == "binary":
                row = _first(~pc.is_in(label, value_set=pa.array(["0", "1"])).to_numpy(zero_copy_only=False))
                if row is not None:
                    message = f"{_quote(label[row].as_py())} is not a binary label; use 0 or 1"
                    self.failures.note(("label", "binary"), offset + row, message, "label")
            else:
                _text(self.failures, table, "label", offset)
            for value in pc.value_counts(label).to_pylist():
                self.counts[value["values"]] = self.counts.get(value["values"], 0) + value["counts"]
        group = None
        if self.grouped:
            group = _text(self.failures, table, "group", offset)
            self.groups = pc.unique(pa.concat_arrays([self.groups, pc.unique(group)]))
        return label, group

    def verdict(self) -> TruthCheck:
        """Raise the first failure in ``read_truth``'s order, or say what the file holds."""
        source, failures, n = self.source, self.failures, self.source.n_rows
        failures.raise_first([("id", "empty"), ("id", "repeat")])
        classes: tuple[str, ...] = ()
        if self.task == "binary":
            failures.raise_first([("label", "binary")])
            positives = self.counts.get("1", 0)
            if positives in (0, n):
                only = "1" if positives else "0"
                raise source.error(f"every row has label {only}; binary evaluation needs both 0 and 1", column="label")
            classes = ("0", "1")
        elif self.task == "multiclass":
            failures.raise_first([("label", "empty")])
            if len(self.counts) < 2:
                raise source.error(
                    f"every row has label {_quote(next(iter(self.counts)))}; multiclass evaluation needs at least "
                    "two classes",
                    column="label",
                )
            classes = tuple(sorted(self.counts))
        else:
            failures.raise_first([("label", "bad"), ("label", "inf")], text_numbers=self.numbers.text_mode)
            if n < 2 or not self.varied:
                raise source.error(
                    "every label has the same value; R² and the intervals need varied labels", column="label"
                )
        n_groups = None
        if self.grouped:
            failures.raise_first([("group", "empty")])
            n_groups = len(self.groups)
            if n_groups < 2:
                raise source.error(
                    "every row is in the same group; intervals that account for groups need at least two",
                    column="group",
                )
        counts = {label: self.counts.get(label, 0) for label in classes}
        return TruthCheck(task=self.task, n_rows=n, n_groups=n_groups, classes=classes, class_counts=counts)


class _ColumnWriter:
    """The columnar copy, written as the blocks come, in row groups of ``row_group_rows``."""

    def __init__(self, path: str, task: str, grouped: bool, row_group_rows: int) -> None:
        fields = [("id", pa.string()), ("label", pa.float64() if task == "regression" else pa.string())]
        if grouped:
            fields.append(("group", pa.string()))
        self.schema = pa.schema(fields)
        self.rows = row_group_rows
        self._writer = pq.ParquetWriter(path, self.schema, compression="zstd")
        self._pending: list[pa.Table] = []
        self._count = 0

    def write(self, ids: pa.Array, label: pa.Array, group: pa.Array | None) -> None:
        arrays = [ids, label] + ([group] if group is not None else [])
        self._pending.append(pa.Table.from_arrays(arrays, schema=self.schema))
        self._count += len(ids)
        if self._count >= self.rows:
            table = pa.concat_tables(self._pending)
            whole = (self._count // self.rows) * self.rows
            self._writer.write_table(table.slice(0, whole), row_group_size=self.rows)
            rest = table.slice(whole)
            self._pending, self._count = ([rest] if len(rest) else []), len(rest)

    def close(self) -> None:
        if self._pending:
            self._writer.write_table(pa.concat_tables(self._pending), row_group_size=self.rows)
            self._pending = []
        self._writer.close()


# --- predictions ------------------------------------------------------------------------------------------
@dataclass
class PredictionsCheck:
    """What an accepted prediction file holds: its rows, and how many truth rows it covers."""

    n_rows_in_file: int
    n_covered: int


def check_predictions(
    path: str | Path,
    *,
    task: str,
    columns: str | Path,
    classes: tuple[str, ...] = (),
    truth_name: str = "truth",
    name: str | None = None,
    on_match: Callable[[np.ndarray, pa.Table], None] | None = None,
) -> PredictionsCheck:
    """Check a prediction file against the truth whose columnar copy is ``columns`` (``classes``: the
    truth's classes, multiclass), as ``read_predictions`` does against that truth, in bounded memory.

    With ``on_match``, the checked values travel with the ids, and each partition whose ids all match is
    handed over as (truth rows, table of ``row`` — the row in this file — and ``VALUE_FIELDS``' columns);
    what it received counts only if the check then passes (``stored.align_predictions``).

    Raises ``EvaluationInputError`` with ``read_predictions``' message."""
    _check_task(task)
    source = open_source(path, name)
    failures = _Failures(source)
    numbers = _Numbers(failures)
    keys: list[tuple] = [("id", "empty"), ("id", "unknown"), ("id", "repeat")]
    if task == "binary":
        _check_columns(source, required=("id", "score"), layout="id,score")
        numeric: tuple[str, ...] = ("score",)
        keys += [("score", "bad"), ("score", "inf")]
    elif task == "multiclass":
        prob_columns = [f"p_{label}" for label in classes]
        _check_columns(
            source, required=("id", "label"), extra=lambda c: c.startswith("p_"), layout="id,label[,p_<class>...]"
        )
        for position, column in enumerate(source.header, start=1):
            if column.startswith("p_") and column not in prob_columns:
                raise source.header_error(
                    f"column {_quote(column)} names a class that is not in {truth_name} "
                    f"(classes: {', '.join(classes)})",
                    column=column,
                    position=position,
                )
        numeric = tuple(c for c in prob_columns if c in source.header)
        if numeric and len(numeric) < len(prob_columns):
            missing = [c for c in prob_columns if c not in source.header]
            raise source.header_error(
                f"probability columns must cover every class; missing {', '.join(missing)}", column=missing[0]
            )
        keys += [("label", "empty"), ("label", "class")]
        for column in numeric:
            keys += [(column, "bad"), (column, "inf"), (column, "range")]
        if numeric:
            keys.append(("sum",))
    else:
        _check_columns(source, required=("id", "prediction"), layout="id,prediction")
        numeric = ("prediction",)
        keys += [("prediction", "bad"), ("prediction", "inf")]
    truth_file = pq.ParquetFile(columns)
    parts = _parts(max(truth_file.metadata.num_rows, _estimated_rows(source)))
    with tempfile.TemporaryDirectory(prefix="agileml-check-") as folder:
        extra = value_fields(task, numeric) if on_match else []
        spill = _Spill(Path(folder), "predictions", parts, extra)
        try:
            for offset, table in source.blocks(numeric=numeric):
                ids = _text(failures, table, "id", offset)
                if task == "multiclass":
                    values = [_check_labels(failures, table, offset, classes, truth_name)]
                    if numeric:
                        block = _check_probabilities(failures, numbers, table, offset, numeric)
                        values += [pa.array(block[:, k]) for k in range(len(numeric))]
                else:
                    values = [pa.array(numbers.check(table, numeric[0], offset))]
                spill.add(ids, offset, values if on_match else ())
                del table, ids, values
        finally:
            spill.close()
        n_rows = source.n_rows
        missing: tuple[int, int, str] | None = None
        if ("id", "empty") not in failures:
            truth_spill = _Spill(Path(folder), "truth", parts)
            try:
                offset = 0
                for index in range(truth_file.num_row_groups):
                    ids = truth_file.read_row_group(index, columns=["id"]).column("id").combine_chunks()
                    truth_spill.add(ids, offset)
                    offset += len(ids)
                    del ids
            finally:
                truth_spill.close()
            missing = _match(failures, spill, truth_spill, source, truth_name, on_match)
    failures.raise_first(keys, text_numbers=numbers.text_mode)
    if task == "regression" and missing is not None:
        row, count, value = missing
        raise source.error(
            f"no prediction for id {_quote(value)} (row {row + 1} of {truth_name})"
            f"{f' and {count - 1} more' if count > 1 else ''}; regression needs a prediction for every row",
            column="id",
        )
    return PredictionsCheck(n_rows_in_file=n_rows, n_covered=n_rows)


def value_fields(task: str, numeric: tuple[str, ...]) -> list[tuple[str, pa.DataType]]:
    """The columns of checked values ``on_match`` receives: ``score``; ``label`` (class index) and the
    ``p_<class>`` columns; ``prediction``."""
    if task == "multiclass":
        return [("label", pa.int32()), *((column, pa.float64()) for column in numeric)]
    return [(numeric[0], pa.float64())]


def _match(
    failures: _Failures,
    spill: _Spill,
    truth: _Spill,
    source: _Source,
    truth_name: str,
    on_match: Callable[[np.ndarray, pa.Table], None] | None = None,
) -> tuple[int, int, str] | None:
    """Ids not in the truth and repeated ids, partition by partition; gives the first truth row without a
    prediction (row, how many, its id), or ``None``."""
    missing_row, missing_count, missing_id = None, 0, ""
    for k in range(spill.parts):
        table = spill.table(k)
        ids, rows = table.column("id"), table.column("row").to_numpy()
        truth_ids, truth_rows = truth.read(k)
        # Truth ids are unique (checked on upload): an id's position among them says whether it is known,
        # and two rows with one position are a repeat, found by integers rather than by sorting text.
        position = pc.index_in(ids, value_set=truth_ids)
        if position.null_count:
            at = _first_true(pc.is_null(position))
            failures.note(
                ("id", "unknown"),
                int(rows[at]),
                f"id {_quote(ids[at].as_py())} is not in the truth file {truth_name}",
                "id",
            )
            # Unknown ids are reported first; what else the partition holds is not needed.
            del ids, truth_ids, position, table
            continue
        position = position.to_numpy(zero_copy_only=False).astype(np.int64)
        counts = np.bincount(position, minlength=len(truth_ids))
        if len(position) and counts.max() > 1:
            row, first, value = _first_repeat_at(position, rows, ids)
            failures.note(("id", "repeat"), row, f"duplicate id {_quote(value)} (first on {source.place(first)})", "id")
        if on_match is not None and not failures.found:
            on_match(truth_rows[position], table.drop_columns(["id"]))
        uncovered = np.flatnonzero(counts == 0)
        if len(uncovered):
            missing_count += len(uncovered)
            at = int(uncovered[np.argmin(truth_rows[uncovered])])
            if missing_row is None or truth_rows[at] < missing_row:
                missing_row, missing_id = int(truth_rows[at]), truth_ids[at].as_py()
        del ids, truth_ids, position, counts, table
        spill.paths[k].unlink(missing_ok=True)
        truth.paths[k].unlink(missing_ok=True)
    return None if missing_row is None else (missing_row, missing_count, missing_id)


def _first_true(mask: pa.Array) -> int:
    return int(np.argmax(mask.to_numpy(zero_copy_only=False)))


def _first_repeat_at(position: np.ndarray, rows: np.ndarray, ids: pa.Array) -> tuple[int, int, str]:
    """``_first_repeat`` for ids known by their position in the truth: the repeat with the smallest row,
    its first row and the id (``rows`` in file order)."""
    order = np.argsort(position, kind="stable")  # equal positions stay in file order
    ordered = position[order]
    same = ordered[1:] == ordered[:-1]
    pairs = np.flatnonzero(same)
    k = int(pairs[np.argmin(rows[order[pairs + 1]])])
    row, value = int(rows[order[k + 1]]), ids[int(order[k + 1])].as_py()
    while k > 0 and same[k - 1]:
        k -= 1
    return row, int(rows[order[k]]), value


def _check_labels(
    failures: _Failures, table: pa.Table, offset: int, classes: tuple[str, ...], truth_name: str
) -> pa.Array:
    text = _text(failures, table, "label", offset)
    codes = pc.index_in(text, value_set=pa.array(classes, pa.string()))
    if codes.null_count:
        row = _first(codes.is_null().to_numpy(zero_copy_only=False))
        failures.note(
            ("label", "class"),
            offset + row,
            f"{_quote(text[row].as_py())} is not a class in {truth_name} (classes: {', '.join(classes)})",
            "label",
        )
    return codes.cast(pa.int32())


def _check_probabilities(
    failures: _Failures, numbers: _Numbers, table: pa.Table, offset: int, columns: tuple[str, ...]
) -> np.ndarray:
    block = np.empty((table.num_rows, len(columns)), order="F")
    for k, column in enumerate(columns):
        values = numbers.check(table, column, offset)
        outside = (values < 0) | (values > 1)
        row = _first(outside)
        if row is not None:
            failures.note(
                (column, "range"),
                offset + row,
                f"{float(values[row])!r} is not a probability (must lie in [0, 1])",
                column,
            )
        block[:, k] = values
    sums = block.sum(axis=1)
    row = _first(np.abs(sums - 1.0) > PROBABILITY_SUM_TOLERANCE)
    if row is not None:
        failures.note(("sum",), offset + row, f"the p_<class> values add up to {sums[row]:.6g}, not 1", columns[0])
    return block
