"""Model instances read by hand-written SQL, for the few queries every page makes.

Django builds a query's SQL anew on every call: for the session, the user and the caller's
memberships that is most of a kept page's CPU (``python -m bench.profile_pages``), far more than
PostgreSQL takes to answer. A :class:`Columns` holds a model's select list once, and turns a row
back into the instance the ORM would have made: the same fields, the same value conversions
(SQLite's datetimes, JSON, UUIDs), and the instance marked as loaded from the database.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Model


class Columns:
    """Every concrete column of ``model``, selected under table alias ``alias``."""

    def __init__(self, model: type[Model], alias: str) -> None:
        quote = connection.ops.quote_name
        fields = model._meta.concrete_fields
        self.model = model
        self.width = len(fields)
        self.sql = ", ".join(f"{quote(alias)}.{quote(field.column)}" for field in fields)
        self._attnames = [field.attname for field in fields]
        self._converters = []
        for position, field in enumerate(fields):
            column = field.get_col(alias)
            found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
            if found:
                self._converters.append((position, column, found))

    def instance(self, row: Sequence[Any], start: int = 0) -> Model:
        """The instance held by ``row[start:start + width]``."""
        values = list(row[start : start + self.width])
        for position, column, converters in self._converters:
            value = values[position]
            for converter in converters:
                value = converter(value, column, connection)
            values[position] = value
        return self.model.from_db(connection.alias, self._attnames, values)


@functools.cache
def columns(model: type[Model], alias: str) -> Columns:
    """The :class:`Columns` of ``model`` under ``alias``, made once per process."""
    return Columns(model, alias)


def table(model: type[Model]) -> str:
    """``model``'s table name, quoted for the database."""
    return connection.ops.quote_name(model._meta.db_table)
