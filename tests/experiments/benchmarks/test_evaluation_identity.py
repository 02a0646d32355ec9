"""One live evaluation per identity (run × dataset version × settings), also under concurrent requests.

Real threads, each with its own database connection, against the configured database (SQLite by
default, PostgreSQL with DATABASE_URL): the unique constraint ``evaluation_identity`` decides.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import IntegrityError, connections

from experiments.benchmarks import services
from experiments.models import Evaluation, EvaluationStatus
from tests.experiments.benchmark_helpers import (  # noqa: F401
    file_field,
    make_benchmark,
    make_run,
    media_root_fixture,
    submit,
    write_binary_case,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_worker_busy_afterwards():
    """Uploads queue their evaluation. A worker started by an earlier test (session-wide) may take it
    while this test's tables are emptied, and the TRUNCATE deadlocks with it: drop what is still queued,
    then let a running task finish, before the tables are emptied."""
    yield
    from agileml.celery import app
    from tests.conftest import _purge_broker

    _purge_broker()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            active = app.control.inspect(timeout=0.5).active() or {}
        except Exception:  # noqa: BLE001 - a broker without broadcasts: no worker to wait for
            return
        if not any(active.values()):
            return
        time.sleep(0.2)


def run_together(jobs) -> list:
    """Start every job at the same moment in its own thread; return what each returned (or raised)."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(i, job):
        try:
            barrier.wait(timeout=30)
            results[i] = job()
        except BaseException as error:  # noqa: BLE001 - reported to the test
            results[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request hung"
    return results


@pytest.fixture
def case(tmp_path):
    return write_binary_case(tmp_path / "case")


@pytest.fixture
def bench(cast, case, media_root):
    return make_benchmark(cast.project, cast.lead, case)


@pytest.mark.parametrize("trial", range(3))
def test_four_identical_requests_at_once_make_one_evaluation(trial, bench, case, cast):
    dataset = bench.datasets.get()
    run = make_run(cast.project, cast.engineer)
    services.predictions_upload(
        run=run, dataset=dataset, user=cast.engineer, path=case.challenger, original_name="p.csv", source="api"
    )

    def request():
        evaluation, created = services.evaluation_request(run=run, dataset=dataset, user=cast.engineer, enqueue=False)
        return evaluation.pk, created

    results = run_together([request] * 4)
    assert all(isinstance(r, tuple) for r in results), results
    assert len({pk for pk, _ in results}) == 1
    assert [created for _, created in results].count(True) == 1
    assert Evaluation.objects.filter(run=run).count() == 1


@pytest.mark.parametrize("trial", range(3))
def test_two_identical_prediction_uploads_at_once_make_one_evaluation(trial, api, bench, case, cast):
    run = make_run(cast.project, cast.engineer)
    content = case.challenger.read_bytes()

    def upload():
        response = api(cast.engineer).post(
            f"/api/v1/runs/{run.pk}/predictions/",
            {"file": file_field(content, "predictions.csv"), "benchmark": bench.name},
            format="multipart",
        )
        return response.status_code, response.json()

    results = run_together([upload] * 2)
    assert [status for status, _ in results] == [201, 201], results
    assert len({body["evaluation"]["id"] for _, body in results}) == 1
    assert Evaluation.objects.filter(run=run).count() == 1


def test_the_database_refuses_a_second_live_evaluation_with_the_same_identity(bench, case, cast):
    dataset = bench.datasets.get()
    first = submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, case.challenger)
    twin = Evaluation.objects.values().get(pk=first.pk)
    twin.pop("id")
    with pytest.raises(IntegrityError):
        Evaluation.objects.create(**twin)


def test_a_failed_evaluation_can_be_asked_for_again(bench, case, cast):
    dataset = bench.datasets.get()
    run = make_run(cast.project, cast.engineer)
    first = submit(run, dataset, cast.engineer, case.challenger)
    Evaluation.objects.filter(pk=first.pk).update(status=EvaluationStatus.FAILED)
    again, created = services.evaluation_request(run=run, dataset=dataset, user=cast.engineer, enqueue=False)
    assert created and again.pk != first.pk and again.key == first.key
