"""The project's content version: the key of every cached page fragment of a project.

``Project.content_version`` goes up by one in the same transaction as any change a project page
shows, so a fragment cached under the old number is never served after the change commits (a
reader sees the old number with the old data, or the new number with the new data), and every
web and worker process agrees on it whatever the cache backend: it is one column of the project
row that every page loads anyway (the access helper), so reading it costs no query.

Who bumps it:
- ``touch_on_save(Model, ...)``: every save and delete of a model the pages show (tickets,
  sprints, runs, evaluations, ...). Model signals here, as an exception to "no signals": this is
  cache bookkeeping, not business logic, and a save anywhere (service, admin, import, worker)
  must invalidate, which one explicit call per service could forget.
- every domain event (``agileml.events``), for changes published without a save of those models;
- ``project_touch(...)`` by writes that bypass saves (``QuerySet.update``, ``bulk_create``) of
  state a page shows: the evaluation worker's status changes, ranking moves, Jira imports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.db.models import F, Model
from django.db.models.signals import post_delete, post_save

from agileml import events
from tickets.models import Comment, Epic, Membership, Project, Sprint, Ticket


def project_touch(*, project_id: int | None = None, **lookup: Any) -> None:
    """Bump the content version of the project ``project_id`` (or of those matching ``lookup``,
    e.g. ``benchmarks=3``): one UPDATE, in the caller's transaction, and only the first time in it
    (moving 50 tickets costs one, not 50)."""
    if project_id is not None:
        lookup = {"pk": project_id}
    key = tuple(sorted(lookup.items()))
    if _touched_in_this_transaction(key):
        return
    Project.objects.filter(**lookup).update(content_version=F("content_version") + 1)
    if _own_atomic_blocks():
        hooks, touched = getattr(connection, "_content_version_touched", (None, {}))
        if hooks is not connection.run_on_commit:
            touched = {}
        touched[key] = set(connection.savepoint_ids)
        connection._content_version_touched = (connection.run_on_commit, touched)


def _own_atomic_blocks() -> list:
    # A test case's wrapping transaction is no transaction of the app's: writes under it alone behave
    # as the autocommitted writes they are in production.
    return [block for block in connection.atomic_blocks if not getattr(block, "_from_testcase", False)]


def _touched_in_this_transaction(key: tuple) -> bool:
    """Whether this transaction (and no savepoint since rolled back or released) bumped ``key`` already.

    Django replaces ``connection.run_on_commit`` with a new list whenever a transaction commits or
    rolls back and whenever a savepoint rolls back: a bump recorded beside an older list belongs to a
    transaction that is over (or was undone), and a bump inside a savepoint that is gone is not relied on.
    """
    if not _own_atomic_blocks():
        return False
    hooks, touched = getattr(connection, "_content_version_touched", (None, {}))
    savepoints = touched.get(key)
    return hooks is connection.run_on_commit and savepoints is not None and savepoints <= set(connection.savepoint_ids)


def touch_on_save(model: type[Model], lookup: Callable[[Model], dict[str, Any]]) -> None:
    """Bump the project's version whenever a ``model`` row is saved or deleted; ``lookup(instance)``
    names the project, as keyword arguments of :func:`project_touch`."""

    def touched(sender, instance, **kwargs) -> None:
        if kwargs.get("raw"):  # loaddata
            return
        project_touch(**lookup(instance))

    post_save.connect(touched, sender=model, weak=False, dispatch_uid=f"content-version-save-{model._meta.label}")
    post_delete.connect(touched, sender=model, weak=False, dispatch_uid=f"content-version-delete-{model._meta.label}")


def _on_event(event: events.Event) -> None:
    project_touch(project_id=event.project_id)


def register() -> None:
    """Planning's models and the domain events (``TicketsConfig.ready``); experiments registers its own."""
    for model in (Ticket, Sprint, Epic, Membership):
        touch_on_save(model, lambda instance: {"project_id": instance.project_id})
    touch_on_save(Comment, lambda instance: {"tickets": instance.ticket_id})
    events.subscribe(_on_event)
