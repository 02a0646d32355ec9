"""Celery tasks for evaluations. Thin: load by id and call the service, which owns claims and state."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from agileml.heartbeat import sweep_done
from experiments.benchmarks import services as benchmark_services


@shared_task(
    bind=True,
    name="experiments.tasks.evaluation_run",
    # Transient trouble (database, shared storage): the service has queued the job again; retry soon.
    autoretry_for=(benchmark_services.EvaluationRetry, OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=120,
    retry_jitter=False,
    # After these the row stays queued and the sweeper re-sends it every EVALUATION_RESEND_SECONDS.
    max_retries=6,
    soft_time_limit=settings.EVALUATION_SOFT_TIME_LIMIT,
    time_limit=settings.EVALUATION_TIME_LIMIT,
)
def evaluation_run(self, evaluation_id: int) -> str:
    """Evaluate one queued evaluation; a duplicate message for a claimed or finished one does nothing."""
    return benchmark_services.evaluation_execute(evaluation_id=evaluation_id, worker=self.request.hostname or "")


@shared_task(name="experiments.tasks.evaluation_sweep")
def evaluation_sweep() -> dict:
    """The periodic sweeper (CELERY_BEAT_SCHEDULE): re-queue evaluations of dead workers, re-send lost ones."""
    result = benchmark_services.evaluation_sweep()
    # /healthz judges the scheduler by the age of the last sweep.
    sweep_done()
    return {"requeued": result.requeued, "resent": result.resent, "failed": result.failed}
