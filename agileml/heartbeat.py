"""Heartbeats of the worker and the scheduler, written to the database for ``/healthz``.

A worker beats from a thread of its main process every ``WORKER_HEARTBEAT_SECONDS``: a row that is
fresh proves the worker is running and can reach the database, which a ping through the broker
does not (and costs no broker round trip). The scheduler beats when ``celery beat`` starts; the
evaluation sweep it schedules beats again each time it runs.
"""

from __future__ import annotations

import logging
import os
import threading

from celery import bootsteps
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

WORKER_PREFIX = "worker:"
SCHEDULER = "scheduler"


# Held while a heartbeat has a database connection open. The worker forks its pool processes while
# this thread runs; a child must never inherit an open connection (SQLite's locks do not survive a
# fork, and a child closing one can remove the database's write-ahead log under the others).
_connection_open = threading.Lock()
os.register_at_fork(
    before=_connection_open.acquire,
    after_in_parent=_connection_open.release,
    after_in_child=_connection_open.release,
)


def beat(name: str) -> bool:
    """Record one heartbeat; False (logged) when the database cannot be reached."""
    from agileml.services import heartbeat_record

    with _connection_open:
        try:
            heartbeat_record(name=name)
            return True
        except Exception as exc:  # noqa: BLE001 - a heartbeat must never take its process down
            logger.warning("Heartbeat %s not recorded: %s", name, exc)
            return False
        finally:
            # Its own short-lived connection: never a SQLite write lock or a stale server connection held open.
            connection.close()


class WorkerHeartbeat(bootsteps.StartStopStep):
    """A worker bootstep: beat from a thread while the worker runs, forget the row when it stops."""

    def __init__(self, worker, **kwargs) -> None:
        super().__init__(worker, **kwargs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._name = ""

    def start(self, worker) -> None:
        self._name = f"{WORKER_PREFIX}{worker.hostname}"
        self._thread = threading.Thread(target=self._run, name="agileml-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        healthy = True
        while True:
            ok = beat(self._name)
            if ok and not healthy:
                logger.info("Heartbeat %s recorded again", self._name)
            healthy = ok
            if self._stop.wait(settings.WORKER_HEARTBEAT_SECONDS):
                return

    def stop(self, worker) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
            from agileml.services import heartbeat_forget

            with _connection_open:
                try:
                    heartbeat_forget(name=self._name)
                except Exception as exc:  # noqa: BLE001
                    logger.warning("Heartbeat %s not removed: %s", self._name, exc)
                finally:
                    connection.close()


def scheduler_started(**kwargs) -> None:
    """``beat_init`` signal: the scheduler is up."""
    import django

    django.setup()
    beat(SCHEDULER)


def sweep_done() -> None:
    """Called by the evaluation sweep task each time it runs."""
    beat(SCHEDULER)
