"""Remembered access decisions for the MLflow logging endpoints, re-checked by one query per request.

A training script calls ``runs/log-metric`` hundreds of times a second with the same token on the
same run. Deciding access from scratch costs three ORM queries (the token and its user, the run,
the caller's membership) whose query building dominated the request. Here the decision is still
made by the one access helper (``run_for_user`` → ``tickets.access.object_for_user``), once; what
it depended on is remembered as a *fingerprint*:

- the token still exists for that user (a revoked, deleted or expired token is gone), and the
  user is still active;
- the caller's role in the run's project (removed from it → no role), and in the project of a
  project-scoped tracking URI;
- the run's project and its soft deletion.

Every later request reads the fingerprint again, in one hand-written query, and reuses the
decision only if nothing in it changed; otherwise the helper decides again (and answers 404/403
exactly as before). So a revoked token, a removed member or a lowered role is refused on the very
next request, in every process, with no invalidation to forget. Only allowed decisions are
remembered; refusals always take the full path.
"""

from __future__ import annotations

import copy
import datetime
import functools
import threading
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import ApiToken
from accounts.services import LAST_USED_RESOLUTION
from experiments.tracking.models import Run
from tickets.models import Membership, Project, Role

# Distinct (token, run, scope, role needed) decisions kept per process; a script logs to one run at
# a time, so this is many scripts' worth. Past it the memo starts afresh.
MAX_REMEMBERED = 2048


@dataclass(frozen=True)
class _Decision:
    user: AbstractBaseUser
    run: Run
    fingerprint: tuple
    # Named tokens note their last use (accounts.services.api_token_touch); when that is due, the
    # full path runs again and writes it.
    touch_due: datetime.datetime | None


_memo: dict[tuple, _Decision] = {}
_lock = threading.Lock()


def _token_credentials(auth: object, key: str) -> tuple[str, str]:
    """How to find the token again: DRF's unnamed tokens by key, named (hashed) ones by digest."""
    if isinstance(auth, ApiToken):
        return "digest", auth.digest
    if isinstance(auth, Token):
        return "key", key
    raise TypeError(f"unknown token {type(auth).__name__}")


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


@functools.cache
def _fingerprint_sql(kind: str, scoped: bool) -> str:
    """One query: the run's project and deletion, the caller's role there (and in the scope's
    project), whether the user is active and the token still theirs."""
    run, user, member = _q(Run._meta.db_table), _q(get_user_model()._meta.db_table), _q(Membership._meta.db_table)
    project, key = _q(Project._meta.db_table), _q("key")
    if kind == "digest":
        tokens = _q(ApiToken._meta.db_table)
        token = (
            f"SELECT 1 FROM {tokens} t WHERE t.digest = %s AND t.user_id = u.id "  # noqa: S608
            "AND (t.expiry IS NULL OR t.expiry > %s)"
        )
    else:
        token = f"SELECT 1 FROM {_q(Token._meta.db_table)} t WHERE t.{key} = %s AND t.user_id = u.id"  # noqa: S608
    scope = "NULL"
    if scoped:
        scope = (
            f"(SELECT s.role FROM {member} s JOIN {project} p ON p.id = s.project_id "  # noqa: S608
            f"WHERE p.{key} = %s AND s.user_id = u.id)"
        )
    # Only quoted table names are interpolated; every value is a parameter.
    return (
        f"SELECT r.project_id, r.deleted_at IS NOT NULL, m.role, u.is_active, EXISTS ({token}), {scope} "  # noqa: S608
        f"FROM {run} r JOIN {user} u ON u.id = %s "
        f"LEFT JOIN {member} m ON m.project_id = r.project_id AND m.user_id = u.id WHERE r.id = %s"
    )


def _read_fingerprint(kind: str, credential: str, user_id: int, run_id: int, scope_key: str | None) -> tuple | None:
    params: list = [credential]
    if kind == "digest":
        params.append(connection.ops.adapt_datetimefield_value(timezone.now()))
    if scope_key is not None:
        params.append(scope_key)
    params += [user_id, run_id]
    with connection.cursor() as cursor:
        cursor.execute(_fingerprint_sql(kind, scope_key is not None), params)
        row = cursor.fetchone()
    if row is None:
        return None
    project_id, deleted, role, is_active, token_ok, scope_role = row
    return (project_id, bool(deleted), role, bool(is_active), bool(token_ok), scope_role)


def _memo_key(header: str, run_ref: str, scope_key: str | None, need: Role) -> tuple:
    # The whole Authorization header (not a hash of it): the memo lives in this process only.
    return (header, run_ref, scope_key, str(need))


def remembered_run(request, run_ref: str, *, need: Role, scope_key: str | None) -> tuple[AbstractBaseUser, Run] | None:
    """``(user, run)`` if an earlier allowed decision for this token, run and role still holds; else None.

    The run is a copy of the one the helper returned (with its project and the caller's role), so
    a request may change it without touching the remembered one.
    """
    header = request.META.get("HTTP_AUTHORIZATION", "")
    decision = _memo.get(_memo_key(header, run_ref, scope_key, need))
    if decision is None:
        return None
    if decision.touch_due is not None and timezone.now() >= decision.touch_due:
        return None
    kind, credential, user_id, run_id = decision.fingerprint[:4]
    current = _read_fingerprint(kind, credential, user_id, run_id, scope_key)
    if current is None or current != decision.fingerprint[4:]:
        with _lock:
            _memo.pop(_memo_key(header, run_ref, scope_key, need), None)
        return None
    return decision.user, copy.copy(decision.run)


def remember_run(
    request,
    run_ref: str,
    *,
    need: Role,
    scope_key: str | None,
    scope_role: str | None,
    user: AbstractBaseUser,
    auth: object,
    run: Run,
) -> None:
    """Remember that the access helper just allowed ``user`` (authenticated by ``auth``) ``need`` on
    ``run`` (and, under a project-scoped URI, found them in project ``scope_key`` as ``scope_role``).

    The fingerprint is what the helper saw, so any change since, even one made during this request,
    shows on the next one."""
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) != 2 or (scope_key is not None and scope_role is None):
        return
    try:
        kind, credential = _token_credentials(auth, parts[1])
    except TypeError:
        return
    seen = (run.project_id, run.deleted_at is not None, str(run.project.role), True, True, scope_role)
    touch_due = None
    if isinstance(auth, ApiToken):
        touch_due = (auth.last_used_at or timezone.now()) + LAST_USED_RESOLUTION
    decision = _Decision(
        user=user, run=copy.copy(run), fingerprint=(kind, credential, user.pk, run.pk, *seen), touch_due=touch_due
    )
    with _lock:
        if len(_memo) >= MAX_REMEMBERED:
            _memo.clear()
        _memo[_memo_key(request.META.get("HTTP_AUTHORIZATION", ""), run_ref, scope_key, need)] = decision


def forget_all() -> None:
    """Drop every remembered decision (tests; nothing depends on it for correctness)."""
    with _lock:
        _memo.clear()
