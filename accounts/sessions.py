"""Sessions in the database, read without the ORM building the query (``SESSION_ENGINE``).

Django's database sessions, except that loading one (on every signed-in request) runs SQL written
once; see ``agileml.rows``. Saving, expiry and clearing are Django's.
"""

from __future__ import annotations

import functools

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from agileml import rows


@functools.cache
def _select() -> str:
    # Table and column names come from the model; the key and the time are parameters.
    session = rows.columns(Session, "s")
    return f"SELECT {session.sql} FROM {rows.table(Session)} s WHERE s.session_key = %s AND s.expire_date > %s"  # noqa: S608


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        key = self.session_key
        if key is not None:
            with connection.cursor() as cursor:
                cursor.execute(_select(), [key, timezone.now()])
                row = cursor.fetchone()
            if row is not None:
                return rows.columns(Session, "s").instance(row)
        self._session_key = None
        return None
