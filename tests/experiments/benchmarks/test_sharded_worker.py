"""Sharded evaluations on real worker processes (Redis broker of their own, no scheduler running).

Above ``EVALUATION_SHARD_ROWS`` the worker that claims an evaluation splits it into shard tasks that any
worker runs; the report is the single-process engine's to 1e-12 (bootstrap included). A shard whose
worker process is killed with SIGKILL mid-shard is queued again and redone, and counted once.
"""

from __future__ import annotations

import json
import os
import signal
import uuid

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from experiments.benchmarks.services.files import dataset_truth
from experiments.benchmarks.services.worker import _read_stored
from experiments.evaluation import evaluate
from experiments.models import Evaluation, EvaluationShard, EvaluationStatus, ShardStatus
from tests.conftest import wait_until
from tests.experiments.benchmark_helpers import crown, make_benchmark, make_run, submit, write_large_binary_case
from tests.experiments.benchmarks.test_recovery import broker, stored  # noqa: F401 - fixtures
from tests.experiments.broker_helpers import OtherBrokerWorker
from tests.experiments.evaluation.test_sharding import assert_same

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROWS, GROUPS, SHARD_ROWS = 6_000, 40, 2_500  # three row shards


@pytest.fixture
def start_worker(request, broker, worker_env, tmp_path):  # noqa: F811
    url, app = broker
    started: list[OtherBrokerWorker] = []

    def start(pool: str = "solo", **env: str) -> OtherBrokerWorker:
        environment = dict(worker_env, CELERY_BROKER_URL=url, EVALUATION_SHARD_ROWS=str(SHARD_ROWS), **env)
        worker = OtherBrokerWorker(environment, tmp_path / f"worker-{len(started)}.log", app, pool)
        started.append(worker)
        worker.start()
        request.addfinalizer(worker.kill)
        return worker

    return start


@pytest.fixture
def queued(cast, tmp_path, stored):  # noqa: F811
    from experiments.benchmarks import services

    case = write_large_binary_case(tmp_path / "case", n_rows=ROWS, n_groups=GROUPS)
    benchmark = make_benchmark(cast.project, cast.lead, case)
    stored.append(benchmark)
    dataset = benchmark.datasets.get()
    crown(benchmark, submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, case.champion), cast.lead)
    run = make_run(cast.project, cast.engineer)
    services.predictions_upload(
        run=run, dataset=dataset, user=cast.engineer, path=case.challenger, original_name="p.csv", source="api"
    )
    evaluation, _ = services.evaluation_request(run=run, dataset=dataset, user=cast.engineer, enqueue=False)
    return evaluation


def _single_process_report(evaluation: Evaluation) -> dict:
    evaluation = Evaluation.objects.select_related("benchmark", "dataset", "predictions", "champion_predictions").get(
        pk=evaluation.pk
    )
    truth = dataset_truth(evaluation.dataset)
    report = evaluate(
        task=evaluation.benchmark.task,
        truth=truth,
        predictions=_read_stored(evaluation.predictions, truth),
        champion=_read_stored(evaluation.champion_predictions, truth),
        primary=evaluation.primary_metric,
        threshold=evaluation.threshold,
        seed=evaluation.seed,
        n_resamples=evaluation.n_resamples,
    )
    # As the result field stores it.
    return json.loads(json.dumps(report, cls=DjangoJSONEncoder))


def _coordinated_by(worker: OtherBrokerWorker, evaluation: Evaluation) -> None:
    """Send the evaluation with only ``worker`` listening, and wait for it to claim it."""
    worker.app.send_task("experiments.tasks.evaluation_run", args=[evaluation.pk])
    wait_until(
        lambda: Evaluation.objects.filter(pk=evaluation.pk, status=EvaluationStatus.RUNNING).exists(),
        timeout=120,
        interval=0.02,
        what="the coordinator to claim it",
    )


def _finished(evaluation_id: int) -> Evaluation | None:
    evaluation = Evaluation.objects.get(pk=evaluation_id)
    return evaluation if evaluation.is_finished else None


def _assert_sharded_like_single_process(done: Evaluation) -> list[EvaluationShard]:
    assert done.status == EvaluationStatus.SUCCEEDED, done.error
    assert (done.attempts, done.progress, done.stage) == (1, 100, "done")
    assert done.result["comparison"]["verdict"] == "better"
    assert_same(done.result, _single_process_report(done))
    shards = list(EvaluationShard.objects.filter(evaluation=done))
    assert {shard.attempt for shard in shards} == {done.claim}
    steps = {step: sorted(s.index for s in shards if s.step == step) for step in {s.step for s in shards}}
    assert steps["scan"] == steps["reduce"] == [0, 1, 2]
    assert steps["rank"] == list(range(len(steps["rank"]))) and len(steps["rank"]) >= 2
    assert all(shard.status == ShardStatus.DONE for shard in shards)
    return shards


def test_a_sharded_evaluation_runs_on_several_workers_and_equals_the_single_process_report(
    start_worker,
    queued,
):
    coordinator = start_worker()
    _coordinated_by(coordinator, queued)
    helper = start_worker(pool="prefork")
    done = wait_until(lambda: _finished(queued.pk), timeout=180, what="the sharded evaluation")
    assert done.worker == coordinator.name
    shards = _assert_sharded_like_single_process(done)
    assert any(shard.worker == helper.name for shard in shards), "no shard ran on the other worker"
    assert all(shard.runs == 1 for shard in shards)


def test_a_shard_whose_worker_is_killed_mid_shard_is_redone_and_counted_once(
    start_worker,
    queued,
):
    coordinator = start_worker()
    _coordinated_by(coordinator, queued)
    # The helper pauses (heartbeating) at the start of each shard, so it is killed mid-shard.
    helper = start_worker(pool="prefork", EVALUATION_SHARD_PAUSE_SECONDS="2")
    victim = wait_until(
        lambda: EvaluationShard.objects.filter(
            evaluation=queued, worker=helper.name, status=ShardStatus.RUNNING
        ).first(),
        timeout=120,
        interval=0.02,
        what="a shard running on the helper",
    )
    (child,) = helper.children()
    os.kill(child, signal.SIGKILL)
    assert EvaluationShard.objects.get(pk=victim.pk).status == ShardStatus.RUNNING, "done before the kill"

    done = wait_until(lambda: _finished(queued.pk), timeout=180, what="the evaluation after the kill")
    assert done.worker == coordinator.name
    shards = _assert_sharded_like_single_process(done)
    redone = next(shard for shard in shards if shard.pk == victim.pk)
    assert redone.runs == 2 and redone.status == ShardStatus.DONE
    assert helper.proc.poll() is None


def test_a_lone_worker_runs_the_shards_nobody_took_itself(queued, settings):
    """With no other worker listening, the coordinator takes each shard once it has waited
    EVALUATION_STALE_SECONDS in the queue: one worker process never waits on itself."""
    from experiments.benchmarks import services

    settings.EVALUATION_SHARD_ROWS = SHARD_ROWS
    settings.EVALUATION_STALE_SECONDS = 2
    # A queue no worker listens to (the session's worker would otherwise take the shards).
    settings.EVALUATION_SHARD_QUEUE = f"nobody-{uuid.uuid4().hex}"
    assert services.evaluation_execute(evaluation_id=queued.pk, worker="lone") == "succeeded"
    done = Evaluation.objects.get(pk=queued.pk)
    shards = _assert_sharded_like_single_process(done)
    assert {shard.worker for shard in shards} == {"lone"}
    assert all(shard.runs == 1 for shard in shards)
    # The shards' files are removed with the attempt.
    assert not any((settings.MEDIA_ROOT / "evaluations" / str(queued.pk) / "shards").glob("*/*"))


def test_an_evaluation_past_the_memory_budget_reads_from_disk_in_one_shard_here(queued, settings, monkeypatch):
    """Under EVALUATION_SHARD_ROWS but past what EVALUATION_MEMORY_MB holds: the claiming worker reads the
    inputs prepared on disk, a row range at a time, in one shard of its own (no shard tasks); the inputs'
    prepared folders stay beside the stored files for the next evaluation."""
    from experiments.benchmarks import services
    from experiments.benchmarks.services.files import aligned_relative, media_path, prepared_relative
    from experiments.evaluation import stored as stored_inputs

    settings.EVALUATION_SHARD_ROWS = 10 * ROWS
    monkeypatch.setattr(stored_inputs, "fits", lambda n_rows, memory_mb: False)
    assert services.evaluation_execute(evaluation_id=queued.pk, worker="here") == "succeeded"
    done = Evaluation.objects.select_related("dataset", "predictions").get(pk=queued.pk)
    assert done.status == EvaluationStatus.SUCCEEDED, done.error
    assert_same(done.result, _single_process_report(done))
    assert not EvaluationShard.objects.filter(evaluation=done).exists()
    assert (media_path(prepared_relative(done.dataset.file)) / "meta.json").exists()
    assert (media_path(aligned_relative(done.predictions.file)) / "meta.json").exists()
