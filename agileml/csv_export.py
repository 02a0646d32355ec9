"""Streamed CSV answers: rows are written as they are produced, never built as one string.

Exports meant for spreadsheets start with a UTF-8 byte-order mark (so Excel reads accents right)
and neutralise cells a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR:
OWASP's CSV injection advice) by prefixing a quote; numbers are left alone.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """A file-like object whose ``write`` hands back what it was given (csv.writer → one line)."""

    def write(self, value: str) -> str:
        return value


def spreadsheet_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_lines(rows: Iterable[Iterable[Any]], *, bom: bool = False, safe: bool = False) -> Iterator[bytes]:
    """``rows`` as UTF-8 CSV lines, one at a time; ``None`` is an empty cell."""
    writer = csv.writer(_Line(), lineterminator="\r\n" if bom else "\n")
    if bom:
        yield "\ufeff".encode()
    for row in rows:
        cells = ["" if v is None else (spreadsheet_safe(v) if safe else v) for v in row]
        yield writer.writerow(cells).encode()


def csv_download(rows: Iterable[Iterable[Any]], filename: str, *, spreadsheet: bool = False) -> StreamingHttpResponse:
    """A streamed CSV attachment; ``spreadsheet``: BOM, CRLF and formula-safe cells (exports)."""
    response = StreamingHttpResponse(
        csv_lines(rows, bom=spreadsheet, safe=spreadsheet), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
