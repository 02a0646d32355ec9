"""Evaluations through real worker processes, on both brokers; a worker killed mid-evaluation; retries.

The worker processes share the test database and MEDIA_ROOT (``var/test-media`` under tests), so
these tests use the default MEDIA_ROOT and remove what they stored when they finish.
"""

from __future__ import annotations

import io
import json
import shutil
import time

import pytest
from django.conf import settings
from django.core.management import call_command

from experiments.benchmarks import services
from experiments.benchmarks.tasks import evaluation_run, evaluation_sweep
from experiments.models import Benchmark, Evaluation, EvaluationStatus
from tests.conftest import wait_until
from tests.experiments.benchmark_helpers import (
    crown,
    file_field,
    make_benchmark,
    make_run,
    submit,
    write_binary_case,
    write_large_binary_case,
)
from tests.experiments.broker_helpers import (
    EMBEDDED,
    REDIS,
    OtherBrokerWorker,
    celery_app_for,
    configured_broker,
    other_broker_url,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stored():
    """Benchmarks whose files to remove from the shared MEDIA_ROOT afterwards."""
    benchmarks: list[Benchmark] = []
    yield benchmarks
    for benchmark in benchmarks:
        shutil.rmtree(settings.MEDIA_ROOT / "benchmarks" / str(benchmark.pk), ignore_errors=True)


def _command_report(case, evaluation: Evaluation) -> dict:
    out = io.StringIO()
    call_command(
        "evaluate",
        "--task=binary",
        f"--truth={case.truth}",
        f"--predictions={case.challenger}",
        f"--champion={case.champion}",
        f"--resamples={evaluation.n_resamples}",
        f"--seed={evaluation.seed}",
        "--json",
        stdout=out,
    )
    return json.loads(out.getvalue())


def _finished(evaluation_id: int) -> Evaluation | None:
    evaluation = Evaluation.objects.get(pk=evaluation_id)
    return evaluation if evaluation.is_finished else None


@pytest.mark.parametrize("broker", [EMBEDDED, REDIS])
def test_upload_evaluate_verdict_matches_the_evaluate_command(
    broker, request, api, cast, tmp_path, stored, worker_env, tmp_path_factory
):
    case = write_binary_case(tmp_path / "case")
    benchmark = make_benchmark(cast.project, cast.lead, case)
    stored.append(benchmark)
    dataset = benchmark.datasets.get()
    crown(
        benchmark,
        submit(make_run(cast.project, cast.engineer, "rule"), dataset, cast.engineer, case.champion),
        cast.lead,
    )
    run = make_run(cast.project, cast.engineer, "gbm")
    upload = {"file": file_field(case.challenger.read_bytes(), "predictions.csv"), "benchmark": "holdout"}

    if broker == configured_broker():
        request.getfixturevalue("celery_worker")
        # The whole path: the upload queues the evaluation, the worker picks it up from the broker.
        response = api(cast.engineer).post(f"/api/v1/runs/{run.pk}/predictions/", upload, format="multipart")
        assert response.status_code == 201, response.content
        evaluation_id = response.json()["evaluation"]["id"]
    else:
        url = other_broker_url(broker, tmp_path_factory.mktemp("other-broker"))
        app = celery_app_for(url)
        app.control.purge()
        worker = OtherBrokerWorker(dict(worker_env, CELERY_BROKER_URL=url), tmp_path / "other-worker.log", app)
        worker.start()
        request.addfinalizer(worker.stop)
        response = api(cast.engineer).post(
            f"/api/v1/runs/{run.pk}/predictions/", {**upload, "evaluate": False}, format="multipart"
        )
        assert response.status_code == 201, response.content
        evaluation, _ = services.evaluation_request(run=run, dataset=dataset, user=cast.engineer, enqueue=False)
        evaluation_id = evaluation.pk
        app.send_task("experiments.tasks.evaluation_run", args=[evaluation_id])

    evaluation = wait_until(lambda: _finished(evaluation_id), timeout=120, what="the worker's verdict")
    assert evaluation.status == EvaluationStatus.SUCCEEDED, evaluation.error
    assert evaluation.attempts == 1
    expected = _command_report(case, evaluation)
    assert evaluation.result["comparison"] == expected["comparison"]
    assert evaluation.result["metrics"] == expected["metrics"]
    assert evaluation.verdict == expected["comparison"]["verdict"]
    body = api(cast.stakeholder).get(f"/api/v1/evaluations/{evaluation_id}/").json()
    assert body["comparison"]["verdict"] == expected["comparison"]["verdict"]


def _restart(worker, **env: str) -> None:
    worker.stop()
    for key in ("EVALUATION_STALE_SECONDS",):
        worker.env.pop(key, None)
    worker.env.update(env)
    worker.start()


def test_a_worker_killed_mid_evaluation_is_replaced_and_the_job_completes_once(
    request, celery_worker, cast, tmp_path, stored
):
    # The restarted worker runs the sweeper with a short stale-heartbeat threshold.
    request.addfinalizer(lambda: _restart(celery_worker))
    _restart(celery_worker, EVALUATION_STALE_SECONDS="3")
    case = write_large_binary_case(tmp_path / "big", n_rows=400_000, n_groups=400)
    benchmark = make_benchmark(cast.project, cast.lead, case)
    stored.append(benchmark)
    dataset = benchmark.datasets.get()
    crown(benchmark, submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, case.champion), cast.lead)

    evaluation = submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, case.challenger, run_now=False)
    evaluation_run.delay(evaluation.pk)
    first = wait_until(
        lambda: Evaluation.objects.filter(pk=evaluation.pk, status=EvaluationStatus.RUNNING, progress__gt=0).first(),
        timeout=120,
        interval=0.02,
        what="progress on the row",
    )
    celery_worker.kill()
    killed = Evaluation.objects.get(pk=evaluation.pk)
    assert killed.status == EvaluationStatus.RUNNING, "the evaluation finished before the worker was killed"
    assert killed.attempts == 1

    celery_worker.start()

    def requeued():
        evaluation_sweep.delay()
        time.sleep(0.5)
        row = Evaluation.objects.get(pk=evaluation.pk)
        return row.claim != first.claim

    wait_until(requeued, timeout=60, interval=0.5, what="the sweeper to re-queue the job")
    done = wait_until(lambda: _finished(evaluation.pk), timeout=120, what="the second attempt")
    assert done.status == EvaluationStatus.SUCCEEDED, done.error
    assert done.attempts == 2
    assert not Evaluation.objects.filter(status=EvaluationStatus.RUNNING).exists()
    assert done.result["comparison"]["verdict"] == "better"

    # A late duplicate message (the broker redelivering the first one) changes nothing: the worker
    # handles messages in order, so once a later evaluation is done the duplicate has been seen.
    marker = submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, case.worse, run_now=False)
    evaluation_run.delay(evaluation.pk)
    evaluation_run.delay(marker.pk)
    wait_until(lambda: _finished(marker.pk), timeout=120, what="the marker evaluation")
    again = Evaluation.objects.get(pk=evaluation.pk)
    assert (again.attempts, again.finished_at, again.claim) == (done.attempts, done.finished_at, done.claim)


def test_a_missing_stored_file_is_retried_until_it_is_back(celery_worker, cast, tmp_path, stored):
    case = write_binary_case(tmp_path / "case")
    benchmark = make_benchmark(cast.project, cast.lead, case)
    stored.append(benchmark)
    dataset = benchmark.datasets.get()
    evaluation = submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, case.challenger, run_now=False)
    path = services.media_path(evaluation.predictions.file)
    hidden = path.with_name("hidden.csv")
    path.rename(hidden)
    evaluation_run.delay(evaluation.pk)
    retrying = wait_until(
        lambda: Evaluation.objects.filter(pk=evaluation.pk, stage="retrying").first(), what="a transient failure"
    )
    assert retrying.status == EvaluationStatus.QUEUED
    assert "missing under MEDIA_ROOT" in retrying.error
    hidden.rename(path)
    done = wait_until(lambda: _finished(evaluation.pk), timeout=120, what="the retry")
    assert done.status == EvaluationStatus.SUCCEEDED
    assert done.error == ""
    assert done.attempts == 1  # a transient failure does not use up one of the attempts
