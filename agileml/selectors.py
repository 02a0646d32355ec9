"""Reads of the project package: the heartbeats of background processes."""

from __future__ import annotations

import datetime

from agileml.models import Heartbeat


def heartbeats() -> dict[str, datetime.datetime]:
    """Every heartbeat by name, in one query (a handful of rows: one per worker and the scheduler)."""
    return dict(Heartbeat.objects.values_list("name", "beat_at"))
