"""Heartbeats of the background processes, read by ``/healthz``."""

from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """The last time a background process proved it was alive and could write to the database.

    ``worker:<name>`` rows are written every ``WORKER_HEARTBEAT_SECONDS`` by each Celery worker and
    deleted on a clean shutdown; the ``scheduler`` row when ``celery beat`` starts and after every
    evaluation sweep it schedules.
    """

    name = models.CharField(max_length=200, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
