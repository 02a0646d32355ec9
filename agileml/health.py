"""What ``/healthz`` checks: web, database, broker, a live worker and the scheduler.

Cheap on purpose: one database query (the heartbeats, which also proves the database answers) and at
most one broker round trip (none for the embedded broker, a folder). Workers and the scheduler are
judged by the heartbeats they write to the database (agileml/heartbeat.py), not by a ping.
"""

from __future__ import annotations

import datetime
import logging
import os
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from agileml.celery import app
from agileml.heartbeat import SCHEDULER, WORKER_PREFIX

logger = logging.getLogger(__name__)


def read_heartbeats() -> tuple[dict, dict[str, datetime.datetime]]:
    """The database check and the heartbeats, from one query."""
    from agileml.selectors import heartbeats

    try:
        beats = heartbeats()
    except Exception as exc:  # noqa: BLE001 - reported, not raised: this is a health check
        logger.warning("health: database unreachable: %s", exc)
        return {"ok": False, "error": f"unreachable ({exc.__class__.__name__})"}, {}
    return {"ok": True, "vendor": connection.vendor}, beats


def check_broker() -> dict:
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    if options.get("data_folder_in"):
        # The embedded broker is a folder: it is up when the queue folder can be written.
        folder = Path(options["data_folder_in"])
        if folder.is_dir() and os.access(folder, os.W_OK | os.X_OK):
            return {"ok": True, "transport": "embedded"}
        return {"ok": False, "transport": "embedded", "error": f"queue folder {folder} is missing or not writable"}
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            transport = conn.transport_cls
    except Exception as exc:  # noqa: BLE001
        logger.warning("health: broker unreachable: %s", exc)
        return {"ok": False, "error": f"unreachable ({exc.__class__.__name__})"}
    return {"ok": True, "transport": str(transport)}


def _age(beat_at: datetime.datetime, now: datetime.datetime) -> float:
    return round(max(0.0, (now - beat_at).total_seconds()), 1)


def check_workers(beats: dict[str, datetime.datetime], now: datetime.datetime) -> dict:
    limit = settings.HEALTHZ_WORKER_STALE_SECONDS
    ages = {
        name.removeprefix(WORKER_PREFIX): _age(at, now) for name, at in beats.items() if name.startswith(WORKER_PREFIX)
    }
    live = sorted(name for name, age in ages.items() if age <= limit)
    if live:
        return {"ok": True, "workers": live}
    if ages:
        return {
            "ok": False,
            "workers": [],
            "error": f"no worker heartbeat in the last {limit}s (newest {min(ages.values())}s ago)",
        }
    return {"ok": False, "workers": [], "error": "no worker has ever reported"}


def check_scheduler(beats: dict[str, datetime.datetime], now: datetime.datetime) -> dict:
    limit = settings.HEALTHZ_SCHEDULER_STALE_SECONDS
    if SCHEDULER not in beats:
        return {"ok": False, "error": "the scheduler (celery beat) has never reported"}
    age = _age(beats[SCHEDULER], now)
    if age > limit:
        return {"ok": False, "last_sweep_age": age, "error": f"no sweep for {age}s (limit {limit:.0f}s)"}
    return {"ok": True, "last_sweep_age": age}


def report() -> dict:
    database, beats = read_heartbeats()
    now = timezone.now()
    down = {"ok": False, "error": "database down"}
    parts = {
        "web": {"ok": True, "pid": os.getpid()},
        "database": database,
        "broker": check_broker(),
        # Heartbeats live in the database: without it nothing can be said of workers or scheduler.
        "worker": check_workers(beats, now) if database["ok"] else {**down, "workers": []},
        "scheduler": check_scheduler(beats, now) if database["ok"] else down,
    }
    failing = [name for name, part in parts.items() if not part["ok"]]
    return {"ok": not failing, "failing": failing, **parts}
