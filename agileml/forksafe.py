"""Database work on a background thread of a process that forks: the Celery worker's main process.

The prefork pool forks its children from the worker's main process, where threads write
heartbeats and sweep at start-up. SQLite must never see a fork while a connection is open: the
child inherits the library's record of the parent's locks and then waits, up to the busy
timeout and again on every retry, for a lock no process holds ("How To Corrupt An SQLite
Database File", section 2.6: carrying an open database connection across a fork). Background
threads therefore do their database work inside ``database_work()``, which closes the thread's
connection before it lets a fork proceed; a fork waits for the work in progress to finish.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

_guard = threading.Lock()


@contextmanager
def database_work() -> Iterator[None]:
    """Hold off forks while this thread uses the database; close its connection at the end."""
    with _guard:
        try:
            yield
        finally:
            connection.close()


def _before_fork() -> None:
    _guard.acquire()


def _after_fork_in_parent() -> None:
    _guard.release()


def _after_fork_in_child() -> None:
    # The child is one thread: the guard it inherited (held, by the forking thread) is replaced.
    global _guard
    _guard = threading.Lock()


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)
