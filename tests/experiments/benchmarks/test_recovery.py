"""Recovery in seconds, through real worker processes on a broker of their own (Redis; no scheduler running).

A pool child killed mid-evaluation: its message comes back (acks_late, reject_on_worker_lost), waits
for the dead attempt's heartbeat to go stale and takes the job over. A warm shutdown hands the job
back at once. A worker killed whole: the next worker to start sweeps. Each finishes exactly once.
"""

from __future__ import annotations

import os
import shutil
import signal
import time

import pytest
from django.conf import settings

from experiments.benchmarks import services
from experiments.models import Benchmark, Evaluation, EvaluationStatus
from tests.conftest import wait_until
from tests.experiments.benchmark_helpers import crown, make_benchmark, make_run, submit, write_large_binary_case
from tests.experiments.broker_helpers import REDIS, OtherBrokerWorker, celery_app_for, other_broker_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Large enough that the evaluation is still running when the test interrupts it.
ROWS, GROUPS = 300_000, 300


@pytest.fixture
def stored():
    benchmarks: list[Benchmark] = []
    yield benchmarks
    for benchmark in benchmarks:
        shutil.rmtree(settings.MEDIA_ROOT / "benchmarks" / str(benchmark.pk), ignore_errors=True)


@pytest.fixture
def broker(tmp_path_factory):
    """A broker only these tests' workers listen to, so the session's worker cannot take the job: the
    Redis database of the broker tests (AGILEML_TEST_REDIS_URL), emptied first."""
    url = other_broker_url(REDIS, tmp_path_factory.mktemp("recovery-broker"))
    app = celery_app_for(url)
    app.control.purge()
    return url, app


@pytest.fixture
def start_worker(request, broker, worker_env, tmp_path):
    url, app = broker

    def start(pool: str = "solo") -> OtherBrokerWorker:
        worker = OtherBrokerWorker(dict(worker_env, CELERY_BROKER_URL=url), tmp_path / "worker.log", app, pool)
        worker.start()
        request.addfinalizer(worker.kill)
        return worker

    return start


@pytest.fixture
def queued(cast, tmp_path, stored):
    """An evaluation of a large case against a champion, queued; the test sends its message once a worker
    is up (a solo worker busy with it could not answer the start-up ping)."""
    case = write_large_binary_case(tmp_path / "big", n_rows=ROWS, n_groups=GROUPS)
    benchmark = make_benchmark(cast.project, cast.lead, case)
    stored.append(benchmark)
    dataset = benchmark.datasets.get()
    crown(benchmark, submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, case.champion), cast.lead)
    run = make_run(cast.project, cast.engineer)
    services.predictions_upload(
        run=run, dataset=dataset, user=cast.engineer, path=case.challenger, original_name="p.csv", source="api"
    )
    # Not sent to the configured broker, where the session's worker would take it.
    evaluation, _ = services.evaluation_request(run=run, dataset=dataset, user=cast.engineer, enqueue=False)
    return evaluation


def _send(broker, evaluation: Evaluation) -> None:
    broker[1].send_task("experiments.tasks.evaluation_run", args=[evaluation.pk])


def _running(evaluation_id: int) -> Evaluation | None:
    return Evaluation.objects.filter(pk=evaluation_id, status=EvaluationStatus.RUNNING).first()


def _finished(evaluation_id: int) -> Evaluation | None:
    evaluation = Evaluation.objects.get(pk=evaluation_id)
    return evaluation if evaluation.is_finished else None


def _assert_finished_once(evaluation: Evaluation, *, attempts: int) -> None:
    assert evaluation.status == EvaluationStatus.SUCCEEDED, evaluation.error
    assert evaluation.attempts == attempts
    assert evaluation.result["comparison"]["verdict"] == "better"
    assert Evaluation.objects.filter(run_id=evaluation.run_id).count() == 1
    assert not Evaluation.objects.filter(status=EvaluationStatus.RUNNING).exists()


def test_a_pool_child_killed_mid_evaluation_is_replaced_within_20_seconds(start_worker, broker, queued):
    worker = start_worker(pool="prefork")
    _send(broker, queued)
    first = wait_until(lambda: _running(queued.pk), timeout=120, interval=0.02, what="the worker to claim it")
    (child,) = worker.children()
    os.kill(child, signal.SIGKILL)
    killed_at = time.monotonic()
    assert Evaluation.objects.get(pk=queued.pk).status == EvaluationStatus.RUNNING, "finished before the kill"

    done = wait_until(lambda: _finished(queued.pk), timeout=20, interval=0.1, what="the evaluation after the kill")
    assert time.monotonic() - killed_at < 20
    _assert_finished_once(done, attempts=2)
    assert done.claim != first.claim
    assert worker.proc.poll() is None, "the worker itself survived the loss of its child"


def test_a_warm_shutdown_hands_the_evaluation_back_and_the_next_worker_finishes_it(start_worker, broker, queued):
    worker = start_worker()
    _send(broker, queued)
    wait_until(lambda: _running(queued.pk), timeout=120, interval=0.02, what="the worker to claim it")
    worker.proc.send_signal(signal.SIGTERM)
    # The worker stops within seconds: it does not wait for the evaluation to finish.
    assert worker.proc.wait(timeout=30) == 0
    handed = Evaluation.objects.get(pk=queued.pk)
    assert (handed.status, handed.claim, handed.stage) == (EvaluationStatus.QUEUED, "", "handed back")
    assert handed.attempts == 0, "a hand-back does not use up an attempt"

    start_worker()
    done = wait_until(lambda: _finished(queued.pk), timeout=120, what="the next worker to finish it")
    _assert_finished_once(done, attempts=1)


def test_a_worker_killed_whole_is_recovered_by_the_next_worker_to_start(start_worker, broker, queued):
    worker = start_worker()
    _send(broker, queued)
    wait_until(lambda: _running(queued.pk), timeout=120, interval=0.02, what="the worker to claim it")
    worker.kill()
    # No scheduler, and the unacknowledged message waits out the broker's visibility timeout (an hour on
    # Redis; an embedded broker may lose it): the starting worker sweeps.
    start_worker()
    done = wait_until(lambda: _finished(queued.pk), timeout=120, what="the starting worker to recover it")
    _assert_finished_once(done, attempts=2)
