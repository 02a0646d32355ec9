"""Celery tasks for evaluations. Thin: load by id and call the service, which owns claims and state.

Two worker lifecycle hooks live here too, because recovery must not wait for the scheduler: a
worker that starts sweeps once (``evaluation_recover_on_start``), and a worker told to shut down
warmly (Ctrl-C, SIGTERM) hands its running evaluations back (``evaluation_hand_back``).
"""

from __future__ import annotations

import logging
import threading

from celery import shared_task
from celery.exceptions import Reject
from celery.signals import worker_ready, worker_shutdown, worker_shutting_down
from celery.worker import state as worker_state
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

from agileml.forksafe import database_work
from agileml.heartbeat import sweep_done
from experiments.benchmarks import services as benchmark_services
from experiments.benchmarks.services import sharded

logger = logging.getLogger(__name__)


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
    """Evaluate one queued evaluation; a duplicate message for a claimed or finished one does nothing.

    A message redelivered after its worker died (acks_late, reject_on_worker_lost) waits for the
    dead attempt's heartbeat to go stale and takes the job over.
    """
    if worker_state.should_stop is not None or worker_state.should_terminate is not None:
        # This worker is shutting down (and has handed its jobs back): leave the message to the next one.
        raise Reject("the worker is shutting down", requeue=True)
    return benchmark_services.evaluation_execute(
        evaluation_id=evaluation_id, worker=self.request.hostname or "", wait=True
    )


@shared_task(
    bind=True,
    name="experiments.tasks.evaluation_shard_run",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    max_retries=3,
    soft_time_limit=settings.EVALUATION_SOFT_TIME_LIMIT,
    time_limit=settings.EVALUATION_TIME_LIMIT,
)
def evaluation_shard_run(self, shard_id: int) -> str:
    """Run one shard of a sharded evaluation; a duplicate message, or one of an abandoned attempt, does nothing.

    A shard whose worker dies stays claimed until its heartbeat goes stale; the evaluation's coordinator
    then queues it again and re-sends this message (or runs it itself)."""
    if worker_state.should_stop is not None or worker_state.should_terminate is not None:
        raise Reject("the worker is shutting down", requeue=True)
    return sharded.shard_execute(shard_id=shard_id, worker=self.request.hostname or "")


@shared_task(name="experiments.tasks.evaluation_sweep")
def evaluation_sweep() -> dict:
    """The periodic sweeper (CELERY_BEAT_SCHEDULE): re-queue evaluations of dead workers, re-send lost ones."""
    result = benchmark_services.evaluation_sweep()
    # /healthz judges the scheduler by the age of the last sweep.
    sweep_done()
    return {"requeued": result.requeued, "resent": result.resent, "failed": result.failed}


_stopping = threading.Event()


def _in_own_thread(name: str, work) -> threading.Thread:
    """Run ``work`` on its own thread and database connection (never the one of a task in progress, nor
    one a pool child would inherit); log, never raise, what goes wrong."""

    def run() -> None:
        try:
            work()
        except Exception:
            logger.exception("%s failed", name)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


@worker_ready.connect
def _recover_on_start(sender=None, **kwargs) -> None:
    _stopping.clear()
    _in_own_thread(
        "evaluation-recovery",
        lambda: benchmark_services.evaluation_recover_on_start(stop=_stopping, guard=database_work),
    )


def _hand_back(worker: str) -> None:
    with database_work():
        benchmark_services.evaluation_hand_back(worker=worker)


@worker_shutting_down.connect
def _hand_back_on_shutdown(sender=None, how: str = "", **kwargs) -> None:
    # Runs in the worker's main process, inside its signal handler: the work happens on a thread of
    # its own, waited for briefly, so a task interrupted mid-query keeps its connection to itself.
    _stopping.set()
    if sender:
        _in_own_thread("evaluation-hand-back", lambda: _hand_back(sender)).join(10)


@worker_shutdown.connect
def _stop_recovery(**kwargs) -> None:
    _stopping.set()
