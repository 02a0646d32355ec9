"""Celery tasks for online tests. Thin: load by id and call the service."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from experiments.abtests import services


@shared_task(
    name="experiments.tasks.abtest_aggregate",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    max_retries=5,
)
def abtest_aggregate(test_id: int) -> int | None:
    """Aggregate a test's events into statistics and a snapshot; a message for a current test does nothing."""
    snapshot = services.onlinetest_aggregate(test_id=test_id)
    return snapshot.version if snapshot else None


@shared_task(name="experiments.tasks.abtest_sweep")
def abtest_sweep() -> int:
    """The periodic sweeper (CELERY_BEAT_SCHEDULE): aggregate tests whose nudge was lost; returns how many."""
    stale = services.onlinetests_behind()
    for test_id in stale:
        abtest_aggregate.delay(test_id)
    return len(stale)
