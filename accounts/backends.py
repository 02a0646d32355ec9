"""Signing in with a username and password (``AUTHENTICATION_BACKENDS``).

Django's ``ModelBackend``, except that finding the signed-in user (on every request) runs SQL
written once; see ``agileml.rows``.
"""

from __future__ import annotations

import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import connection

from agileml import rows


@functools.cache
def _select() -> str:
    # Table and column names come from the model; the id is a parameter.
    model = get_user_model()
    user = rows.columns(model, "u")
    key = connection.ops.quote_name(model._meta.pk.column)
    return f"SELECT {user.sql} FROM {rows.table(model)} u WHERE u.{key} = %s"  # noqa: S608


class UserBackend(ModelBackend):
    def get_user(self, user_id):
        model = get_user_model()
        try:
            pk = model._meta.pk.to_python(user_id)
        except (ValidationError, TypeError, ValueError):  # a session holding no user id: nobody
            return None
        with connection.cursor() as cursor:
            cursor.execute(_select(), [pk])
            row = cursor.fetchone()
        if row is None:
            return None
        user = rows.columns(model, "u").instance(row)
        return user if self.user_can_authenticate(user) else None
