"""Reading truth and prediction files: fast, and validated completely before any computation.

Files may be CSV, gzip- or zstd-compressed CSV, or Parquet; the format is told from the content (the
first bytes), never from the name alone. Every format ends as the same arrow table and goes through the
same checks, so a value refused in a CSV file is refused in a Parquet file with the same message.

CSV parsing is pyarrow's multithreaded CSV reader with every column read as text (compressed files are
decompressed as a stream, never whole in memory); checks are vectorised over whole columns. Only when a
check fails do we spend time locating the exact physical line (with Python's ``csv`` module, so quoted
fields and blank lines are counted the way a text editor shows them). A Parquet file has no lines: its
messages name the 1-based data row instead (``row 3``). Uploads are checked by ``checking`` instead, block
by block (``blocks``) in bounded memory, with the same messages.

Rules (documented for users in the command's help and the error messages):

- UTF-8, with or without a byte-order mark; LF or CRLF line ends; blank lines are skipped.
- A header line is required. Truth: ``id,label[,group]``. Predictions: binary ``id,score``; multiclass
  ``id,label`` plus optional ``p_<class>`` columns (all classes, or none); regression ``id,prediction``.
  Columns may come in any order; unknown and repeated columns are errors.
- Spaces around values are ignored. Ids and groups are text (``007`` and ``7`` differ) and may not be empty.
- Numbers must be finite: NaN and infinity are errors, never silently dropped.
- Parquet: text and number columns (integers are read as their decimal text where text is expected,
  booleans as 0/1); a null is an empty value; dates, bytes, lists and structs are refused.
- Binary truth labels are ``0``/``1`` and both must occur; multiclass truth needs at least two labels, and its
  labels define the class set; regression truth must not be constant.
- A prediction for an id the truth does not have, or a second prediction for the same id, is an error.
  A truth row without a prediction counts as that model's worst answer (see ``Predictions``), except in
  regression, where there is no worst answer and every row needs a prediction.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from experiments.evaluation.errors import EvaluationInputError

TASKS = ("binary", "multiclass", "regression")
BOM = b"\xef\xbb\xbf"
PROBABILITY_SUM_TOLERANCE = 0.01
_QUOTE_LIMIT = 40
_LINE_END = re.compile(rb"\r\n|\r|\n")
_PANDAS_INDEX = re.compile(r"__index_level_\d+__")
# A compressed file may not unpack to more than this: a few hundred megabytes of gzip can hold
# terabytes of text, which would take the server down rather than get a message.
MAX_DECOMPRESSED_BYTES = 8 * 1024**3
# What ``blocks`` hands over at a time: CSV text by the megabyte, Parquet by rows.
BLOCK_BYTES = 4 * 1024**2
BLOCK_ROWS = 250_000

# File formats, told from the first bytes.
CSV, GZIP, ZSTD, PARQUET = "csv", "gzip", "zstd", "parquet"
_MAGIC = ((b"PAR1", PARQUET), (b"\x1f\x8b", GZIP), (b"\x28\xb5\x2f\xfd", ZSTD))
SUFFIXES = {CSV: ".csv", GZIP: ".csv.gz", ZSTD: ".csv.zst", PARQUET: ".parquet"}
ACCEPTED = "CSV, gzip- or zstd-compressed CSV, or Parquet"


def file_format(path: str | Path) -> str:
    """``csv``, ``gzip``, ``zstd`` or ``parquet``, from the file's first bytes (``csv`` when unreadable:
    the CSV reader then says why)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError:
        return CSV
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return CSV


def _quote(value: str) -> str:
    value = value if len(value) <= _QUOTE_LIMIT else value[: _QUOTE_LIMIT - 1] + "…"
    return '"' + value.replace("\r", "\\r").replace("\n", "\\n") + '"'


def _check_names(names: list[str], *, file: str, line: int | None) -> None:
    """Column names: none empty, none twice (both formats)."""
    for position, name in enumerate(names, start=1):
        if not name:
            raise EvaluationInputError("empty column name in the header", file=file, line=line, column=f"#{position}")
        if name in names[: position - 1]:
            raise EvaluationInputError(
                f"column {_quote(name)} appears twice in the header",
                file=file,
                line=line,
                column=name,
                position=position,
            )


# --- one file, whatever its format ------------------------------------------------------------
class _Source:
    """A parsed file: header, text columns, and the means to blame a row and column.

    Subclasses set ``path``, ``name``, ``header`` and, in ``load``, ``table`` (one column per header
    name: text, or float64 for the numeric columns asked for) and ``n_rows``.
    """

    path: Path
    name: str
    header: list[str]
    table: pa.Table | None = None
    n_rows = 0
    _trimmed: frozenset[str] = frozenset()  # text columns already trimmed and checked in ``table``

    def load(self, numeric: tuple[str, ...] = ()) -> None:
        raise NotImplementedError

    def error(
        self, message: str, *, row: int | None = None, column: str | None = None, line: int | None = None
    ) -> EvaluationInputError:
        """An error about 0-based data row ``row`` (or a physical ``line``), in ``column``."""
        raise NotImplementedError

    def header_error(self, message: str, *, column: str, position: int | None = None) -> EvaluationInputError:
        """An error about the header: a column missing, unexpected or misnamed."""
        raise NotImplementedError

    def place(self, row: int) -> str:
        """Where 0-based data row ``row`` is, for a message: ``line 7`` or ``row 6``."""
        raise NotImplementedError

    # -- columns
    def text(self, column: str) -> pa.Array:
        """A column as trimmed text; empty values are errors.

        The trimmed column replaces the raw one in ``table``, so a large file's column is held once,
        not twice (the raw text is never needed again: messages quote trimmed values)."""
        index = self.table.column_names.index(column)
        raw = self.table.column(index)
        if column in self._trimmed:
            return raw.chunk(0)
        trimmed = pc.utf8_trim_whitespace(raw)
        del raw
        self.table = self.table.set_column(index, column, trimmed)
        values = trimmed.combine_chunks()
        del trimmed
        self.table = self.table.set_column(index, column, pa.chunked_array([values], values.type))
        empty = pc.fill_null(pc.equal(pc.utf8_length(values), 0), True)
        if pc.any(empty).as_py():
            raise self.error("empty value", row=_first_true(empty), column=column)
        self._trimmed = self._trimmed | {column}
        return values

    def numbers(self, column: str) -> np.ndarray:
        """A column as finite float64 numbers."""
        raw = self.table.column(column)
        if raw.type == pa.float64():
            if raw.null_count:
                raise self.error("empty value", row=_first_true(pc.is_null(raw.combine_chunks())), column=column)
            numbers = raw.to_numpy()
            finite = np.isfinite(numbers)
            if not finite.all():
                row = int(np.argmin(finite))
                raise self.error(
                    f"{float(numbers[row])!r} is not a finite number (NaN and infinity are not allowed)",
                    row=row,
                    column=column,
                )
            return numbers
        values = pc.utf8_trim_whitespace(raw.combine_chunks())
        try:
            parsed = pc.cast(values, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            row = _first_uncastable(values)
            raw = values[row].as_py()
            raise self.error(
                "empty value" if raw == "" else f"{_quote(raw)} is not a number", row=row, column=column
            ) from None
        numbers = parsed.to_numpy(zero_copy_only=False)
        finite = np.isfinite(numbers)
        if not finite.all():
            row = int(np.argmin(finite))
            raise self.error(
                f"{_quote(values[row].as_py())} is not a finite number (NaN and infinity are not allowed)",
                row=row,
                column=column,
            )
        return numbers

    def unique_ids(self, column: str = "id") -> pa.Array:
        values = self.text(column)
        # Repeats sit side by side once sorted. A stable sort needs a fraction of the memory of a hash
        # table over every id (about 20 bytes a row instead of 90: what lets 20M-row files through), and
        # keeps equal ids in file order, so each run of equal ids starts with its first occurrence.
        order = pc.sort_indices(values)
        ordered = values.take(order)
        n = len(values)
        same = pc.equal(ordered.slice(1), ordered.slice(0, n - 1)) if n > 1 else pa.array([], pa.bool_())
        del ordered
        if pc.any(same).as_py():
            same = same.to_numpy(zero_copy_only=False)
            rows = order.to_numpy()
            pairs = np.flatnonzero(same)
            # The first repeat in file order, and where its run of equal ids starts.
            k = int(pairs[np.argmin(rows[pairs + 1])])
            row = int(rows[k + 1])
            while k > 0 and same[k - 1]:
                k -= 1
            first = int(rows[k])
            raise self.error(
                f"duplicate id {_quote(values[row].as_py())} (first on {self.place(first)})",
                row=row,
                column=column,
            )
        return values


def open_source(path: str | Path, name: str | None = None) -> _Source:
    """The file at ``path`` as a source to validate, whatever its format (see ``file_format``)."""
    kind = file_format(path)
    if kind == PARQUET:
        return _ParquetFile(path, name)
    display = name or Path(path).name
    if kind == CSV and display.lower().endswith(".parquet"):
        raise EvaluationInputError(
            "is named .parquet but is not a Parquet file (it does not start with PAR1); "
            "save it again as Parquet, or name it .csv if it is CSV",
            file=display,
        )
    return _CsvFile(path, name, codec=None if kind == CSV else kind)


def parquet_source(path: str | Path, name: str | None = None, *, numeric: tuple[str, ...] = ()) -> _Source:
    """A Parquet file loaded as a source (``numeric`` columns as float64, the rest as text), unchecked:
    for files this package wrote itself after checking them (``columnar.read_truth_columns``)."""
    source = _ParquetFile(path, name)
    source.load(numeric)
    return source


# --- CSV, plain or compressed -----------------------------------------------------------------
class _CsvFile(_Source):
    """A CSV file, plain or compressed (``codec``: ``gzip`` or ``zstd``, decompressed as a stream)."""

    def __init__(self, path: str | Path, name: str | None, codec: str | None = None) -> None:
        self.path = Path(path)
        self.name = name or self.path.name
        self.codec = codec
        self._lines: dict[int, int] = {}
        self._simple: bool | None = None
        self.header = self._read_header()
        self.unpacked_size = 0  # bytes of text, once known
        if codec is not None:
            self._check_unpacked_size()
        else:
            self.unpacked_size = self.path.stat().st_size
        self.table = None
        self.n_rows = 0

    def load(self, numeric: tuple[str, ...] = ()) -> None:
        """Parse the body. ``numeric`` columns are parsed as float64 straight away; when any value there is
        not a number, everything is re-read as text so that ``numbers()`` can point at the culprit."""
        try:
            self.table = self._read_body(numeric)
        except pa.ArrowInvalid:
            self.table = self._read_body(())
        self.n_rows = self.table.num_rows

    def blocks(self, numeric: tuple[str, ...] = ()) -> Iterator[tuple[int, pa.Table]]:
        """The body as text tables of a few megabytes each, with the 0-based row of each one's first row:
        pyarrow's streaming reader, so the file is never whole in memory. Parse problems get the same
        messages as ``load``. (Every column is text: ``checking`` parses the numbers itself.)"""
        convert = pcsv.ConvertOptions(
            column_types=dict.fromkeys(self.header, pa.string()),
            null_values=[""],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        read = pcsv.ReadOptions(column_names=self.header, skip_rows=1, block_size=BLOCK_BYTES, use_threads=True)
        offset = 0
        with self._open() if self.codec else _nothing() as stream:
            try:
                reader = pcsv.open_csv(stream or self.path, read_options=read, convert_options=convert)
            except pa.ArrowInvalid as exc:
                raise self._locate_parse_problem(str(exc)) from None
            except OSError as exc:
                raise self._read_failure(exc) from None
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                except pa.ArrowInvalid as exc:
                    raise self._locate_parse_problem(str(exc)) from None
                except OSError as exc:
                    raise self._read_failure(exc) from None
                if batch.num_rows:
                    yield offset, pa.Table.from_batches([batch])
                    offset += batch.num_rows
        if offset == 0:
            raise self.error("no data rows after the header", line=2)
        self.n_rows = offset

    def _read_failure(self, exc: OSError) -> EvaluationInputError:
        if self.codec is None:
            return EvaluationInputError(f"cannot be read ({exc.strerror or exc})", file=self.name)
        return self._corrupt(exc)

    # -- the bytes, decompressed
    def _open(self) -> BinaryIO:
        if self.codec is None:
            return self.path.open("rb")
        return pa.input_stream(str(self.path), compression=self.codec)

    def _open_text(self) -> io.TextIOWrapper:
        return io.TextIOWrapper(self._open(), encoding="utf-8-sig", newline="")

    def _read_all(self) -> bytes:
        with self._open() as handle:
            return handle.read()

    def _check_unpacked_size(self) -> None:
        """Decompress once as a stream, counting: too large, truncated or corrupt data is refused before
        anything is parsed."""
        size = 0
        try:
            with self._open() as handle:
                while chunk := handle.read(1 << 22):
                    size += len(chunk)
                    if size > MAX_DECOMPRESSED_BYTES:
                        raise EvaluationInputError(
                            f"unpacks to more than {MAX_DECOMPRESSED_BYTES / 1024**3:g} GiB of text, "
                            "more than an evaluation file can be; upload it as Parquet or split it",
                            file=self.name,
                        )
        except OSError as exc:
            raise self._corrupt(exc) from None
        self.unpacked_size = size

    def _corrupt(self, exc: Exception) -> EvaluationInputError:
        return EvaluationInputError(
            f"the {self.codec} data is truncated or corrupt ({exc}); compress the file again",
            file=self.name,
        )

    # -- errors
    def error(
        self, message: str, *, row: int | None = None, column: str | None = None, line: int | None = None
    ) -> EvaluationInputError:
        if row is not None:
            line = self.line_of_row(row)
        position = self.header.index(column) + 1 if column in self.header else None
        return EvaluationInputError(message, file=self.name, line=line, column=column, position=position)

    def header_error(self, message: str, *, column: str, position: int | None = None) -> EvaluationInputError:
        if position is None:
            return self.error(message, line=1, column=column)
        return EvaluationInputError(message, file=self.name, line=1, column=column, position=position)

    def place(self, row: int) -> str:
        return f"line {self.line_of_row(row)}"

    def line_of_row(self, row: int) -> int:
        """Physical line (header = 1) of 0-based data row ``row``: only computed for error messages."""
        if row not in self._lines:
            try:
                self._lines[row] = self._scan_line_of_row(row)
            except OSError as exc:
                raise self._corrupt(exc) from None
        return self._lines[row]

    def _one_record_a_line(self) -> bool:
        """No quotes, carriage returns or blank lines: read as a stream, never whole."""
        if self._simple is None:
            self._simple, last = True, b"\n"  # a blank first line counts as a blank line
            with self._open() as handle:
                first = True
                while chunk := handle.read(1 << 22):
                    if first:
                        chunk, first = chunk.removeprefix(BOM), False
                    if b'"' in chunk or b"\r" in chunk or b"\n\n" in last + chunk:
                        self._simple = False
                        break
                    last = chunk[-1:]
        return self._simple

    def _scan_line_of_row(self, row: int) -> int:
        if self._one_record_a_line():
            return row + 2  # one record per line: no arithmetic surprises
        index = -1  # the header is record -1
        with self._open_text() as handle:
            reader = csv.reader(handle)
            previous = 0
            for record in reader:
                start, previous = previous + 1, reader.line_num
                if not record:
                    continue
                if index == row:
                    return start
                index += 1
        return row + 2

    # -- header
    def _read_header(self) -> list[str]:
        try:
            with self._open() as handle:
                head = handle.read(1 << 16)
        except FileNotFoundError:
            raise EvaluationInputError("file not found", file=self.name) from None
        except IsADirectoryError:
            raise EvaluationInputError("is a directory, not a CSV file", file=self.name) from None
        except OSError as exc:
            if self.codec is not None and exc.strerror is None:
                raise self._corrupt(exc) from None
            raise EvaluationInputError(f"cannot be read ({exc.strerror})", file=self.name) from None
        if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
            raise EvaluationInputError(
                f"looks like UTF-16 or a binary file; save it as a UTF-8 CSV ({ACCEPTED} are accepted)",
                file=self.name,
                line=1,
            )
        head = head.removeprefix(BOM)
        if not head.strip():
            raise EvaluationInputError(
                "the file is empty; expected a header line and data rows", file=self.name, line=1
            )
        # Line ends may be LF, CRLF or a lone CR (old Mac, some spreadsheet exports).
        first = _LINE_END.split(head, maxsplit=1)[0]
        try:
            text = first.decode("utf-8")
        except UnicodeDecodeError as exc:
            column = first[: exc.start].count(b",") + 1
            raise EvaluationInputError(
                f"invalid UTF-8 byte 0x{first[exc.start]:02x}; save the file as UTF-8",
                file=self.name,
                line=1,
                column=f"#{column}",
            ) from None
        names = [name.strip() for name in next(csv.reader([text]))] if text.strip() else []
        if not names:
            raise EvaluationInputError("the header line is blank; expected column names", file=self.name, line=1)
        _check_names(names, file=self.name, line=1)
        return names

    # -- body
    def _read_body(self, numeric: tuple[str, ...]) -> pa.Table:
        types = dict.fromkeys(self.header, pa.string())
        types.update(dict.fromkeys(numeric, pa.float64()))
        convert = pcsv.ConvertOptions(
            column_types=types,
            null_values=[""],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        # Our own (trimmed) names replace the header line, which _read_header has already checked.
        read = pcsv.ReadOptions(column_names=self.header, skip_rows=1)
        try:
            with self._open() if self.codec else _nothing() as stream:
                table = pcsv.read_csv(stream or self.path, read_options=read, convert_options=convert)
        except pa.ArrowInvalid as exc:
            if numeric and "conversion error" in str(exc):
                raise  # a value that is not a number: load() re-reads as text to locate it
            raise self._locate_parse_problem(str(exc)) from None
        except OSError as exc:
            if self.codec is None:
                raise EvaluationInputError(f"cannot be read ({exc.strerror or exc})", file=self.name) from None
            raise self._corrupt(exc) from None
        if table.num_rows == 0:
            raise self.error("no data rows after the header", line=2)
        return table

    def _locate_parse_problem(self, arrow_message: str) -> EvaluationInputError:
        """pyarrow refused the file: find the first offending line ourselves and say what is wrong."""
        try:
            return self._scan_parse_problem(arrow_message)
        except OSError as exc:
            return self._corrupt(exc)

    def _scan_parse_problem(self, arrow_message: str) -> EvaluationInputError:
        data = self._read_all()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line_start = max(data.rfind(b"\n", 0, exc.start), data.rfind(b"\r", 0, exc.start)) + 1
            line = len(_LINE_END.findall(data, 0, exc.start)) + 1
            position = data[line_start : exc.start].count(b",") + 1
            column = self.header[position - 1] if position <= len(self.header) else f"#{position}"
            return EvaluationInputError(
                f"invalid UTF-8 byte 0x{data[exc.start]:02x}; save the file as UTF-8",
                file=self.name,
                line=line,
                column=column,
                position=position,
            )
        del data
        expected = len(self.header)
        records = 0
        with self._open_text() as handle:
            reader = csv.reader(handle)
            previous = 0
            try:
                for record in reader:
                    start, previous = previous + 1, reader.line_num
                    records += bool(record)
                    if record and records > 1 and len(record) != expected:
                        found = len(record)
                        column = f"#{expected + 1}" if found > expected else self.header[found]
                        return EvaluationInputError(
                            f"expected {expected} values ({','.join(self.header)}), found {found}",
                            file=self.name,
                            line=start,
                            column=column,
                            position=expected + 1 if found > expected else found + 1,
                        )
            except csv.Error as exc:
                return EvaluationInputError(f"malformed CSV ({exc})", file=self.name, line=reader.line_num)
        if records <= 1:
            return self.error("no data rows after the header", line=2)
        return EvaluationInputError(f"cannot be parsed as CSV ({arrow_message})", file=self.name)


class _nothing:
    """``with`` stand-in for the plain-file case, where pyarrow opens the path itself (memory-mapped)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        return None


# --- Parquet ----------------------------------------------------------------------------------
class _ParquetFile(_Source):
    """A Parquet file: typed columns, normalised to what the CSV reader produces (text, or float64 for
    the numeric columns), so that the same checks and messages apply. Rows, not lines, are blamed."""

    def __init__(self, path: str | Path, name: str | None) -> None:
        self.path = Path(path)
        self.name = name or self.path.name
        try:
            self._file = pq.ParquetFile(self.path)
            schema = self._file.schema_arrow
        except FileNotFoundError:
            raise EvaluationInputError("file not found", file=self.name) from None
        except (pa.ArrowException, OSError) as exc:
            raise self._unreadable(exc) from None
        # pandas writes a dataframe's index as a column of its own (``df.to_parquet()`` after a filter):
        # not data, so not an unexpected column.
        kept = [k for k, name in enumerate(schema.names) if not _PANDAS_INDEX.fullmatch(name)]
        self._columns = [schema.names[k] for k in kept]
        self.header = [name.strip() for name in self._columns]
        if not self.header:
            raise EvaluationInputError("the Parquet file has no columns", file=self.name)
        _check_names(self.header, file=self.name, line=None)
        self._types = {name: schema.types[k] for name, k in zip(self.header, kept, strict=True)}
        self.table = None
        self.n_rows = 0

    def _unreadable(self, exc: Exception) -> EvaluationInputError:
        return EvaluationInputError(
            f"cannot be read as Parquet ({str(exc).strip()}); the file may be truncated or corrupt",
            file=self.name,
        )

    def load(self, numeric: tuple[str, ...] = ()) -> None:
        # Wrong types are refused before a byte of data is read.
        for name in self.header:
            self._plan(name, self._types[name], name in numeric)
        if self._file.metadata.num_rows == 0:
            raise self.error("no data rows")
        try:
            table = self._file.read(columns=self._columns, use_threads=True, use_pandas_metadata=False)
        except (pa.ArrowException, OSError) as exc:
            raise self._unreadable(exc) from None
        columns = [
            self._normalise(name, column, name in numeric)
            for name, column in zip(self.header, table.columns, strict=True)
        ]
        del table
        self.table = pa.table(columns, names=self.header)
        self.n_rows = self.table.num_rows

    def blocks(self, numeric: tuple[str, ...] = ()) -> Iterator[tuple[int, pa.Table]]:
        """The file in tables of at most ``BLOCK_ROWS`` rows, normalised as ``load`` normalises the whole
        file, with the 0-based row of each one's first row."""
        for name in self.header:
            self._plan(name, self._types[name], name in numeric)
        if self._file.metadata.num_rows == 0:
            raise self.error("no data rows")
        # Without pre-buffering, pyarrow reads a row group's pages as they are decoded (with it, it
        # holds the whole file's column chunks at once); a row group of any size comes out in blocks.
        try:
            handle = pq.ParquetFile(self.path, pre_buffer=False, buffer_size=1 << 20)
        except (pa.ArrowException, OSError) as exc:
            raise self._unreadable(exc) from None
        batches = handle.iter_batches(
            batch_size=BLOCK_ROWS, columns=self._columns, use_threads=True, use_pandas_metadata=False
        )
        offset = 0
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except (pa.ArrowException, OSError) as exc:
                raise self._unreadable(exc) from None
            columns = [
                self._normalise(name, pa.chunked_array([column]), name in numeric)
                for name, column in zip(self.header, batch.columns, strict=True)
            ]
            del batch
            table = pa.table(columns, names=self.header)
            yield offset, table
            offset += table.num_rows
        self.n_rows = offset

    def _plan(self, name: str, kind: pa.DataType, numeric: bool) -> str:
        """How a column of type ``kind`` becomes text (``"text"``) or numbers (``"number"``/``"parse"``)."""
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
            return "parse" if numeric else "text"
        if pa.types.is_null(kind):
            return "number" if numeric else "text"
        number = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
        if numeric and number:
            return "number"
        if not numeric and (number or pa.types.is_boolean(kind)):
            return "text"
        expected = "numbers" if numeric else "text or numbers"
        raise self.header_error(f"the column holds {_describe_type(kind)}; expected {expected}", column=name)

    def _normalise(self, name: str, column: pa.ChunkedArray, numeric: bool) -> pa.ChunkedArray:
        plan = self._plan(name, column.type, numeric)
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if plan == "number":
            return column.cast(pa.float64())  # a null stays null: numbers() calls it an empty value
        if pa.types.is_boolean(column.type):
            column = column.cast(pa.int8())
        if column.type != pa.string():
            column = column.cast(pa.string())
        # A null is what an empty CSV field is; the checks then say "empty value" at its row.
        return pc.fill_null(column, "")

    def error(
        self, message: str, *, row: int | None = None, column: str | None = None, line: int | None = None
    ) -> EvaluationInputError:
        position = self.header.index(column) + 1 if column in self.header else None
        return EvaluationInputError(
            message, file=self.name, row=None if row is None else row + 1, column=column, position=position
        )

    def header_error(self, message: str, *, column: str, position: int | None = None) -> EvaluationInputError:
        if position is None:
            return self.error(message, column=column)
        return EvaluationInputError(message, file=self.name, column=column, position=position)

    def place(self, row: int) -> str:
        return f"row {row + 1}"


def _describe_type(kind: pa.DataType) -> str:
    """A Parquet column type in a user's words."""
    for test, words in (
        (pa.types.is_boolean, "true/false values"),
        (pa.types.is_temporal, "dates or times"),
        (lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t), "bytes"),
        (lambda t: pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t), "lists"),
        (pa.types.is_struct, "records (structs)"),
        (pa.types.is_map, "maps"),
    ):
        if test(kind):
            return f"{words} ({kind})"
    return f"{kind} values"


def _first_true(mask: pa.Array) -> int:
    return int(np.argmax(mask.to_numpy(zero_copy_only=False)))


def _first_uncastable(values: pa.Array) -> int:
    """Index of the first value pyarrow cannot cast to float64, by bisection (casts are all-or-nothing)."""
    lo, hi = 0, len(values)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            pc.cast(values.slice(lo, mid - lo), pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            hi = mid
        else:
            lo = mid
    return lo


def _check_columns(
    source: _Source,
    *,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    extra: Callable[[str], bool] | None = None,
    layout: str,
) -> None:
    for name in required:
        if name not in source.header:
            raise source.header_error(f"missing column {_quote(name)}; expected {layout}", column=name)
    for position, name in enumerate(source.header, start=1):
        if name not in required and name not in optional and not (extra and extra(name)):
            raise source.header_error(
                f"unexpected column {_quote(name)}; expected {layout}", column=name, position=position
            )


# --- ground truth -------------------------------------------------------------------------
@dataclass(eq=False)
class Truth:
    """A validated ground-truth file.

    ``y`` holds one label per row in file order: ``int8`` 0/1 (binary), ``int32`` index into
    ``classes`` (multiclass) or ``float64`` (regression). ``groups`` holds a 0-based group index per
    row, or ``None`` when the file has no ``group`` column.
    """

    task: str
    name: str
    ids: pa.Array = field(repr=False)
    y: np.ndarray = field(repr=False)
    classes: tuple[str, ...]
    groups: np.ndarray | None = field(repr=False)
    n_groups: int | None
    source: _Source = field(repr=False)

    @property
    def n_rows(self) -> int:
        return len(self.y)

    @property
    def class_counts(self) -> dict[str, int]:
        if self.task == "regression":
            return {}
        counts = np.bincount(self.y.astype(np.int64), minlength=len(self.classes))
        return {label: int(count) for label, count in zip(self.classes, counts, strict=True)}

    @property
    def class_labels(self) -> list[str]:
        return list(self.classes)

    @classmethod
    def from_arrays(cls, *, task: str, y, groups=None, name: str = "truth") -> Truth:
        """An in-memory truth (simulations, demo data), checked like a file but raising ``ValueError``.

        ``y``: 0/1 (binary), any labels (multiclass: the sorted distinct values become the classes), or
        numbers (regression). ``groups``: any labels, one per row, or ``None``.
        """
        _check_task(task)
        y = np.asarray(y)
        n = len(y)
        classes: tuple[str, ...] = ()
        if task == "binary":
            if not np.isin(y, (0, 1)).all() or len(np.unique(y)) < 2:
                raise ValueError("binary labels must be 0/1 with both present")
            y, classes = y.astype(np.int8), ("0", "1")
        elif task == "multiclass":
            found, y = np.unique(y.astype(str), return_inverse=True)
            if len(found) < 2:
                raise ValueError("multiclass labels need at least two classes")
            classes, y = tuple(found.tolist()), y.astype(np.int32)
        else:
            y = y.astype(np.float64)
            if not np.isfinite(y).all() or np.all(y == y[0]):
                raise ValueError("regression labels must be finite and not all equal")
        codes, n_groups = None, None
        if groups is not None:
            names, codes = np.unique(np.asarray(groups), return_inverse=True)
            codes, n_groups = codes.astype(np.int32), len(names)
            if n_groups < 2:
                raise ValueError("groups need at least two distinct values")
        ids = pa.array(np.arange(n).astype(str))
        return cls(task=task, name=name, ids=ids, y=y, classes=classes, groups=codes, n_groups=n_groups, source=None)

    def describe(self) -> dict:
        """A JSON-ready summary to store with an accepted evaluation dataset."""
        return {
            "task": self.task,
            "n_rows": self.n_rows,
            "n_groups": self.n_groups,
            "classes": list(self.classes),
            "class_counts": self.class_counts,
        }


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, not {task!r}")


def read_truth(path: str | Path, *, task: str, name: str | None = None) -> Truth:
    """Read and validate a ground-truth file (``id,label[,group]``; CSV, compressed CSV or Parquet).

    Raises ``EvaluationInputError`` on any problem."""
    _check_task(task)
    source = open_source(path, name)
    _check_columns(source, required=("id", "label"), optional=("group",), layout="id,label[,group]")
    source.load(numeric=("label",) if task == "regression" else ())
    ids = source.unique_ids()
    if task == "binary":
        labels = pc.utf8_trim_whitespace(source.table.column("label").combine_chunks())
        valid = pc.is_in(labels, value_set=pa.array(["0", "1"]))
        if not pc.all(valid).as_py():
            row = _first_true(pc.invert(valid))
            raise source.error(
                f"{_quote(labels[row].as_py())} is not a binary label; use 0 or 1", row=row, column="label"
            )
        y = pc.equal(labels, "1").to_numpy(zero_copy_only=False).astype(np.int8)
        positives = int(y.sum())
        if positives in (0, len(y)):
            only = "1" if positives else "0"
            raise source.error(f"every row has label {only}; binary evaluation needs both 0 and 1", column="label")
        classes: tuple[str, ...] = ("0", "1")
    elif task == "multiclass":
        labels = source.text("label")
        encoded = pc.dictionary_encode(labels)
        found = encoded.dictionary.to_pylist()
        if len(found) < 2:
            raise source.error(
                f"every row has label {_quote(found[0])}; multiclass evaluation needs at least two classes",
                column="label",
            )
        classes = tuple(sorted(found))
        remap = np.array([classes.index(label) for label in found], dtype=np.int32)
        y = remap[encoded.indices.to_numpy()]
    else:
        y = source.numbers("label")
        if len(y) < 2 or np.all(y == y[0]):
            raise source.error(
                "every label has the same value; R² and the intervals need varied labels", column="label"
            )
        classes = ()
    groups, n_groups = None, None
    if "group" in source.header:
        encoded = pc.dictionary_encode(source.text("group"))
        groups = encoded.indices.to_numpy().astype(np.int32)
        n_groups = len(encoded.dictionary)
        if n_groups < 2:
            raise source.error(
                "every row is in the same group; intervals that account for groups need at least two",
                column="group",
            )
    return Truth(
        task=task, name=source.name, ids=ids, y=y, classes=classes, groups=groups, n_groups=n_groups, source=source
    )


# --- predictions --------------------------------------------------------------------------
@dataclass(eq=False)
class Predictions:
    """A validated prediction file, aligned to the truth's rows.

    ``present[i]`` says whether truth row ``i`` has a prediction. Missing rows carry no values here
    (NaN scores / label -1); the metrics count them as the worst possible answer.

    - binary: ``scores`` (float64); ``is_probability`` when every score lies in [0, 1].
    - multiclass: ``labels`` (int32 index into the truth's classes, -1 when missing) and ``proba``
      (rows × classes, or ``None`` without ``p_<class>`` columns).
    - regression: ``values`` (float64), never missing.
    """

    task: str
    name: str
    n_rows_in_file: int
    present: np.ndarray = field(repr=False)
    scores: np.ndarray | None = field(default=None, repr=False)
    labels: np.ndarray | None = field(default=None, repr=False)
    proba: np.ndarray | None = field(default=None, repr=False)
    values: np.ndarray | None = field(default=None, repr=False)
    row_in_file: np.ndarray | None = field(default=None, repr=False)
    source: _Source | None = field(default=None, repr=False)

    @classmethod
    def from_arrays(
        cls, *, truth: Truth, scores=None, labels=None, proba=None, values=None, present=None, name: str = "predictions"
    ) -> Predictions:
        """In-memory predictions aligned to ``truth`` rows (``present`` marks rows with a prediction).

        binary: ``scores``; multiclass: ``labels`` (class names, or indices into ``truth.classes``) and
        optionally ``proba`` (rows × classes); regression: ``values``.
        """
        n = truth.n_rows
        present = np.ones(n, dtype=bool) if present is None else np.asarray(present, dtype=bool)
        kwargs: dict = {}
        if truth.task == "binary":
            kwargs["scores"] = np.where(present, np.asarray(scores, dtype=np.float64), np.nan)
        elif truth.task == "multiclass":
            labels = np.asarray(labels)
            if labels.dtype.kind not in "iu":
                lookup = {label: k for k, label in enumerate(truth.classes)}
                labels = np.array([lookup[str(label)] for label in labels])
            kwargs["labels"] = np.where(present, labels, -1).astype(np.int32)
            if proba is not None:
                kwargs["proba"] = np.where(present[:, None], np.asarray(proba, dtype=np.float64), np.nan)
        else:
            if not present.all():
                raise ValueError("regression needs a prediction for every row")
            kwargs["values"] = np.asarray(values, dtype=np.float64)
        for key, array in kwargs.items():
            if array.shape[0] != n:
                raise ValueError(f"{key} has {array.shape[0]} rows, the truth {n}")
        rows = np.where(present, np.cumsum(present) - 1, -1)
        return cls(
            task=truth.task, name=name, n_rows_in_file=int(present.sum()), present=present, row_in_file=rows, **kwargs
        )

    def error(self, message: str, *, truth_row: int, column: str) -> EvaluationInputError:
        """An error about the prediction for truth row ``truth_row``, pointing at its line in this file."""
        if self.source is None:
            return EvaluationInputError(message, file=self.name, column=column)
        return self.source.error(message, row=int(self.row_in_file[truth_row]), column=column)

    @property
    def n_covered(self) -> int:
        return int(self.present.sum())

    @property
    def coverage(self) -> float:
        return self.n_covered / len(self.present)

    @property
    def complete(self) -> bool:
        return bool(self.present.all())

    @property
    def is_probability(self) -> bool:
        if self.task == "binary":
            covered = self.scores[self.present]
            return bool(covered.size and covered.min() >= 0.0 and covered.max() <= 1.0)
        return self.proba is not None

    def describe(self) -> dict:
        return {
            "rows": self.n_rows_in_file,
            "covered": self.n_covered,
            "missing": len(self.present) - self.n_covered,
            "fraction": self.coverage,
        }


def _align(source: _Source, truth: Truth) -> np.ndarray:
    """Index of each prediction row in the truth, checking unknown and repeated ids."""
    ids = source.text("id")
    if len(ids) == len(truth.ids) and pc.all(pc.equal(ids, truth.ids)).as_py():
        return np.arange(len(ids), dtype=np.int64)  # same order as the truth: the usual case, no hashing
    where = pc.index_in(ids, value_set=truth.ids)
    if where.null_count:
        row = _first_true(pc.is_null(where))
        raise source.error(f"id {_quote(ids[row].as_py())} is not in the truth file {truth.name}", row=row, column="id")
    index = where.to_numpy(zero_copy_only=False).astype(np.int64)
    counts = np.bincount(index, minlength=truth.n_rows)
    if counts.max() > 1:
        seen: dict[int, int] = {}
        for row in np.flatnonzero(counts[index] > 1):
            if index[row] in seen:
                raise source.error(
                    f"duplicate id {_quote(ids[int(row)].as_py())} (first on {source.place(seen[index[row]])})",
                    row=int(row),
                    column="id",
                )
            seen[index[row]] = int(row)
    return index


def _rows_in_file(index: np.ndarray, n: int) -> np.ndarray:
    rows = np.full(n, -1, dtype=np.int64)
    rows[index] = np.arange(len(index))
    return rows


def read_predictions(path: str | Path, *, truth: Truth, name: str | None = None) -> Predictions:
    """Read a prediction file (CSV, compressed CSV or Parquet) and validate it against ``truth``.

    Raises ``EvaluationInputError`` on any problem."""
    source = open_source(path, name)
    n = truth.n_rows
    if truth.task == "binary":
        _check_columns(source, required=("id", "score"), layout="id,score")
        source.load(numeric=("score",))
        index = _align(source, truth)
        scores = np.full(n, np.nan)
        scores[index] = source.numbers("score")
        present = np.zeros(n, dtype=bool)
        present[index] = True
        return Predictions(
            task="binary",
            name=source.name,
            n_rows_in_file=source.n_rows,
            present=present,
            scores=scores,
            row_in_file=_rows_in_file(index, n),
            source=source,
        )
    if truth.task == "multiclass":
        prob_columns = {f"p_{label}": k for k, label in enumerate(truth.classes)}
        _check_columns(
            source, required=("id", "label"), extra=lambda c: c.startswith("p_"), layout="id,label[,p_<class>...]"
        )
        for position, column in enumerate(source.header, start=1):
            if column.startswith("p_") and column not in prob_columns:
                raise source.header_error(
                    f"column {_quote(column)} names a class that is not in {truth.name} "
                    f"(classes: {', '.join(truth.classes)})",
                    column=column,
                    position=position,
                )
        given = [c for c in prob_columns if c in source.header]
        if given and len(given) < len(prob_columns):
            missing = [c for c in prob_columns if c not in source.header]
            raise source.header_error(
                f"probability columns must cover every class; missing {', '.join(missing)}", column=missing[0]
            )
        source.load(numeric=tuple(given))
        index = _align(source, truth)
        text = source.text("label")
        codes = pc.index_in(text, value_set=pa.array(truth.classes))
        if codes.null_count:
            row = _first_true(pc.is_null(codes))
            raise source.error(
                f"{_quote(text[row].as_py())} is not a class in {truth.name} (classes: {', '.join(truth.classes)})",
                row=row,
                column="label",
            )
        labels = np.full(n, -1, dtype=np.int32)
        labels[index] = codes.to_numpy(zero_copy_only=False)
        proba = None
        if given:
            columns = np.empty((source.n_rows, len(truth.classes)), order="F")
            for column, k in prob_columns.items():
                values = source.numbers(column)
                outside = (values < 0) | (values > 1)
                if outside.any():
                    row = int(np.argmax(outside))
                    raise source.error(
                        f"{float(values[row])!r} is not a probability (must lie in [0, 1])", row=row, column=column
                    )
                columns[:, k] = values
            sums = columns.sum(axis=1)
            off = np.abs(sums - 1.0) > PROBABILITY_SUM_TOLERANCE
            if off.any():
                row = int(np.argmax(off))
                raise source.error(f"the p_<class> values add up to {sums[row]:.6g}, not 1", row=row, column=given[0])
            if len(index) == n and (index[0] == 0 and np.all(np.diff(index) == 1)):
                proba = columns
            else:
                proba = np.full((n, len(truth.classes)), np.nan)
                proba[index] = columns
        present = labels >= 0
        return Predictions(
            task="multiclass",
            name=source.name,
            n_rows_in_file=source.n_rows,
            present=present,
            labels=labels,
            proba=proba,
            row_in_file=_rows_in_file(index, n),
            source=source,
        )
    _check_columns(source, required=("id", "prediction"), layout="id,prediction")
    source.load(numeric=("prediction",))
    index = _align(source, truth)
    values = np.full(n, np.nan)
    values[index] = source.numbers("prediction")
    present = np.zeros(n, dtype=bool)
    present[index] = True
    if not present.all():
        missing = int(np.argmin(present))
        count = n - int(present.sum())
        raise source.error(
            f"no prediction for id {_quote(truth.ids[missing].as_py())} ({truth.source.place(missing)} of "
            f"{truth.name}){f' and {count - 1} more' if count > 1 else ''}; regression needs a prediction "
            "for every row",
            column="id",
        )
    return Predictions(
        task="regression",
        name=source.name,
        n_rows_in_file=source.n_rows,
        present=present,
        values=values,
        row_in_file=_rows_in_file(index, n),
        source=source,
    )
