"""Liveness checks of the parts AgileML needs: database, broker and workers."""

from __future__ import annotations

import logging

from django.db import connection

from agileml.celery import app

logger = logging.getLogger(__name__)


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - reported, not raised: this is a health check
        logger.warning("health: database unreachable: %s", exc)
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "vendor": connection.vendor}


def check_broker() -> dict:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            transport = conn.transport_cls
    except Exception as exc:  # noqa: BLE001
        logger.warning("health: broker unreachable: %s", exc)
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "transport": str(transport)}


def check_workers(timeout: float) -> dict:
    """Ask every worker to answer a ping within ``timeout`` seconds."""
    try:
        replies = app.control.ping(timeout=timeout) or []
    except Exception as exc:  # noqa: BLE001
        logger.warning("health: worker ping failed: %s", exc)
        return {"ok": False, "workers": [], "error": exc.__class__.__name__}
    names = sorted(name for reply in replies for name in reply)
    return {"ok": bool(names), "workers": names}
