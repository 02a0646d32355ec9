"""The one error a user can cause by handing the engine a bad file."""

from __future__ import annotations


class EvaluationInputError(Exception):
    """A truth or prediction file the engine cannot evaluate.

    ``str(error)`` is the one-line message shown to the user, e.g.
    ``predictions.csv, line 17, column 2 (score): "abc" is not a number``.

    Attributes
    ----------
    file : str
        The file name used in the message (not necessarily a full path).
    line : int or None
        1-based physical line in that file (the header is line 1), when one line is at fault.
    row : int or None
        1-based data row, for files without lines (Parquet), when one row is at fault.
    column : str or None
        The column's header name (or ``"#3"`` for a position without a usable name).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str,
        line: int | None = None,
        column: str | None = None,
        position: int | None = None,
        row: int | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.row = row
        self.column = column
        self.detail = message
        where = [file]
        if line is not None:
            where.append(f"line {line}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            if position is not None and column != f"#{position}":
                where.append(f"column {position} ({column})")
            else:
                where.append(f"column {column}")
        # One line, always: a message may quote user data containing line breaks.
        text = ", ".join(where) + ": " + message
        super().__init__(" ".join(text.split()))

    def __str__(self) -> str:
        return self.args[0]
