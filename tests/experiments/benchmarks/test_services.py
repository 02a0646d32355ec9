"""Evaluations through the service the worker calls: claims, results, reuse, the sweeper, the gate."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from experiments.benchmarks import services
from experiments.benchmarks.services import worker
from experiments.evaluation import evaluate, read_predictions, read_truth
from experiments.models import Evaluation, EvaluationStatus, PredictionSet
from tests.experiments.benchmark_helpers import (  # noqa: F401
    crown,
    files_under,
    make_benchmark,
    make_run,
    media_root_fixture,
    submit,
    write_binary_case,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(tmp_path):
    return write_binary_case(tmp_path / "case")


@pytest.fixture
def bench(cast, case, media_root):
    return make_benchmark(cast.project, cast.lead, case)


def test_a_dataset_version_records_checksum_rows_groups_and_class_balance(bench, case, media_root):
    dataset = bench.datasets.get()
    truth = read_truth(case.truth, task="binary")
    assert dataset.version == 1
    assert dataset.n_rows == truth.n_rows == 480
    assert dataset.n_groups == 40
    assert dataset.class_counts == truth.class_counts
    assert sum(dataset.class_counts.values()) == 480
    assert len(dataset.sha256) == 64
    # The file as uploaded, and its columnar copy (Parquet in row groups) that workers read.
    columns = services.columns_relative(dataset.file)
    assert files_under(media_root) == sorted([dataset.file, columns])
    assert (media_root / dataset.file).read_bytes() == case.truth.read_bytes()
    copy = read_truth(media_root / columns, task="binary")
    assert copy.ids.equals(truth.ids) and (copy.y == truth.y).all() and (copy.groups == truth.groups).all()


def test_an_identical_dataset_file_is_refused(bench, case, cast, media_root):
    with pytest.raises(ValidationError, match="identical to version 1"):
        services.dataset_upload(benchmark=bench, user=cast.lead, path=case.truth, original_name="again.csv")
    assert bench.datasets.count() == 1
    assert len(files_under(media_root)) == 2  # the first version and its columnar copy


def test_an_evaluation_stores_what_the_engine_reports(bench, case, cast):
    dataset = bench.datasets.get()
    baseline = submit(make_run(cast.project, cast.engineer, "rule"), dataset, cast.engineer, case.champion)
    assert baseline.status == EvaluationStatus.SUCCEEDED
    assert baseline.verdict == ""
    assert baseline.gate_allowed is True  # no champion yet: it may become the baseline
    crown(bench, baseline, cast.lead)

    challenger = submit(make_run(cast.project, cast.engineer, "gbm"), dataset, cast.engineer, case.challenger)

    truth = read_truth(case.truth, task="binary")
    expected = evaluate(
        task="binary",
        truth=truth,
        predictions=read_predictions(case.challenger, truth=truth),
        champion=read_predictions(case.champion, truth=truth),
        primary="auc",
        seed=0,
        n_resamples=challenger.n_resamples,
    )
    assert challenger.status == EvaluationStatus.SUCCEEDED
    assert challenger.progress == 100
    assert challenger.attempts == 1
    assert challenger.result["comparison"] == expected["comparison"]
    assert challenger.result["metrics"] == expected["metrics"]
    assert challenger.verdict == expected["comparison"]["verdict"] == "better"
    assert challenger.delta == pytest.approx(expected["comparison"]["delta"])
    assert challenger.primary_value == pytest.approx(expected["metrics"]["auc"]["value"])
    assert challenger.champion_run_id == baseline.run_id
    assert challenger.gate_allowed is True
    assert challenger.gate_reasons == []


def test_a_worse_challenger_fails_the_gate_with_reasons(bench, case, cast):
    dataset = bench.datasets.get()
    crown(bench, submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, case.champion), cast.lead)
    worse = submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, case.worse)
    assert worse.verdict == "worse"
    assert worse.gate_allowed is False
    assert worse.gate_reasons[0].startswith("auc:")


def test_an_identical_request_reuses_the_result_unless_forced(bench, case, cast):
    dataset = bench.datasets.get()
    run = make_run(cast.project, cast.engineer)
    first = submit(run, dataset, cast.engineer, case.challenger)
    again, created = services.evaluation_request(run=run, dataset=dataset, user=cast.engineer)
    assert (again.pk, created) == (first.pk, False)
    # The same file uploaded again is stored once and still reuses the result.
    services.predictions_upload(
        run=run, dataset=dataset, user=cast.engineer, path=case.challenger, original_name="p.csv", source="api"
    )
    assert PredictionSet.objects.filter(run=run).count() == 1
    assert services.evaluation_request(run=run, dataset=dataset, user=cast.engineer)[0].pk == first.pk
    forced, created = services.evaluation_request(run=run, dataset=dataset, user=cast.engineer, force=True)
    assert created and forced.pk != first.pk and forced.status == EvaluationStatus.QUEUED


def test_a_new_champion_makes_the_same_request_a_new_evaluation(bench, case, cast):
    dataset = bench.datasets.get()
    run = make_run(cast.project, cast.engineer)
    first = submit(run, dataset, cast.engineer, case.challenger)
    crown(bench, submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, case.champion), cast.lead)
    second, created = services.evaluation_request(run=run, dataset=dataset, user=cast.engineer)
    assert created and second.pk != first.pk
    assert second.champion_run_id == bench.champion_id


def test_running_the_job_twice_changes_nothing(bench, case, cast):
    evaluation = submit(make_run(cast.project, cast.engineer), bench.datasets.get(), cast.engineer, case.challenger)
    before = Evaluation.objects.values().get(pk=evaluation.pk)
    assert services.evaluation_execute(evaluation_id=evaluation.pk) == "not-claimed"
    assert Evaluation.objects.values().get(pk=evaluation.pk) == before


def test_the_final_write_needs_the_claim(bench, case, cast):
    """A worker that lost its claim (the sweeper gave the job to another attempt) cannot record a result."""
    evaluation = submit(
        make_run(cast.project, cast.engineer), bench.datasets.get(), cast.engineer, case.challenger, run_now=False
    )
    long_ago = timezone.now() - dt.timedelta(hours=1)
    Evaluation.objects.filter(pk=evaluation.pk).update(
        status=EvaluationStatus.RUNNING, claim="a" * 32, heartbeat_at=long_ago, attempts=1
    )
    swept = services.evaluation_sweep()
    assert swept.requeued == [evaluation.pk]
    late = worker._Job(evaluation.pk, "a" * 32)
    assert worker._finish_failed(late, "too late") == "claim-lost"
    evaluation.refresh_from_db()
    assert evaluation.status == EvaluationStatus.QUEUED
    assert evaluation.claim == ""
    assert "stopped responding" in evaluation.error
    assert services.evaluation_execute(evaluation_id=evaluation.pk) == "succeeded"
    evaluation.refresh_from_db()
    assert (evaluation.status, evaluation.attempts) == (EvaluationStatus.SUCCEEDED, 2)


def test_the_sweeper_leaves_live_jobs_alone_and_fails_exhausted_ones(bench, case, cast, settings):
    settings.EVALUATION_MAX_ATTEMPTS = 2
    dataset = bench.datasets.get()
    live = submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, case.challenger, run_now=False)
    dead = submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, case.champion, run_now=False)
    now = timezone.now()
    Evaluation.objects.filter(pk=live.pk).update(status=EvaluationStatus.RUNNING, claim="l" * 32, heartbeat_at=now)
    Evaluation.objects.filter(pk=dead.pk).update(
        status=EvaluationStatus.RUNNING, claim="d" * 32, heartbeat_at=now - dt.timedelta(hours=1), attempts=2
    )
    swept = services.evaluation_sweep()
    assert swept.requeued == [] and swept.failed == [dead.pk]
    live.refresh_from_db()
    dead.refresh_from_db()
    assert live.status == EvaluationStatus.RUNNING
    assert dead.status == EvaluationStatus.FAILED
    assert "Stopped after 2 attempts" in dead.error


def test_a_stale_claim_is_taken_over_at_once_and_a_fresh_one_is_not(bench, case, cast, settings):
    dataset = bench.datasets.get()
    stale = submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, case.challenger, run_now=False)
    fresh = submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, case.champion, run_now=False)
    now = timezone.now()
    just_stale = now - dt.timedelta(seconds=settings.EVALUATION_STALE_SECONDS + 1)
    Evaluation.objects.filter(pk=stale.pk).update(
        status=EvaluationStatus.RUNNING, claim="s" * 32, heartbeat_at=just_stale, attempts=1
    )
    Evaluation.objects.filter(pk=fresh.pk).update(status=EvaluationStatus.RUNNING, claim="f" * 32, heartbeat_at=now)
    # No sweeper involved: the next message for the job takes it over.
    assert services.evaluation_execute(evaluation_id=stale.pk) == "succeeded"
    assert services.evaluation_execute(evaluation_id=fresh.pk) == "not-claimed"
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, stale.attempts) == (EvaluationStatus.SUCCEEDED, 2)
    assert (fresh.status, fresh.claim) == (EvaluationStatus.RUNNING, "f" * 32)


def test_the_stale_limit_and_the_heartbeat_are_seconds_apart(settings):
    assert settings.EVALUATION_HEARTBEAT_SECONDS <= 1
    assert settings.EVALUATION_STALE_SECONDS <= 10
    assert settings.EVALUATION_STALE_SECONDS >= 4 * settings.EVALUATION_HEARTBEAT_SECONDS


def test_handing_back_releases_this_workers_claims_only(bench, case, cast, django_capture_on_commit_callbacks):
    dataset = bench.datasets.get()
    mine = submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, case.challenger, run_now=False)
    theirs = submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, case.champion, run_now=False)
    now = timezone.now()
    Evaluation.objects.filter(pk=mine.pk).update(
        status=EvaluationStatus.RUNNING, claim="m" * 32, worker="w1@host", heartbeat_at=now, attempts=1, progress=40
    )
    Evaluation.objects.filter(pk=theirs.pk).update(
        status=EvaluationStatus.RUNNING, claim="t" * 32, worker="w2@host", heartbeat_at=now, attempts=1
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.evaluation_hand_back(worker="w1@host") == [mine.pk]
    assert len(callbacks) == 1  # sent again for the next worker
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, mine.claim, mine.stage, mine.attempts) == (EvaluationStatus.QUEUED, "", "handed back", 0)
    assert (theirs.status, theirs.claim) == (EvaluationStatus.RUNNING, "t" * 32)
    # The attempt that was running cannot record anything any more.
    assert worker._finish_failed(worker._Job(mine.pk, "m" * 32), "late") == "claim-lost"


def test_the_sweeper_resends_jobs_queued_too_long(bench, case, cast, django_capture_on_commit_callbacks):
    evaluation = submit(
        make_run(cast.project, cast.engineer), bench.datasets.get(), cast.engineer, case.challenger, run_now=False
    )
    Evaluation.objects.filter(pk=evaluation.pk).update(queued_at=timezone.now() - dt.timedelta(hours=1))
    with django_capture_on_commit_callbacks() as callbacks:
        swept = services.evaluation_sweep()
    assert swept.resent == [evaluation.pk]
    assert len(callbacks) == 1  # the message is sent again once the sweep commits
    assert services.evaluation_sweep().resent == []  # and not again at once


def test_a_bad_prediction_file_fails_upload_and_stores_nothing(bench, cast, tmp_path, media_root):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,score\ns000-a00,0.5\ns000-a01,abc\n")
    before = files_under(media_root)
    with pytest.raises(ValidationError) as caught:
        services.predictions_upload(
            run=make_run(cast.project, cast.engineer),
            dataset=bench.datasets.get(),
            user=cast.engineer,
            path=bad,
            original_name="bad.csv",
            source="api",
        )
    assert caught.value.message_dict["file"] == ['bad.csv, line 3, column 2 (score): "abc" is not a number']
    assert files_under(media_root) == before
    assert not PredictionSet.objects.exists()


def test_a_transient_failure_queues_the_job_again_without_using_an_attempt(bench, case, cast):
    evaluation = submit(
        make_run(cast.project, cast.engineer), bench.datasets.get(), cast.engineer, case.challenger, run_now=False
    )
    stored = services.media_path(evaluation.predictions.file)
    stored.rename(stored.with_suffix(".away"))
    with pytest.raises(services.EvaluationRetry, match="missing under MEDIA_ROOT"):
        services.evaluation_execute(evaluation_id=evaluation.pk)
    evaluation.refresh_from_db()
    assert (evaluation.status, evaluation.stage, evaluation.attempts) == (EvaluationStatus.QUEUED, "retrying", 0)
    stored.with_suffix(".away").rename(stored)
    assert services.evaluation_execute(evaluation_id=evaluation.pk) == "succeeded"


def test_a_permanent_failure_is_recorded_once_with_the_engine_message(cast, case, media_root, tmp_path):
    benchmark = make_benchmark(cast.project, cast.lead, case, name="calibration", primary_metric="log_loss")
    scores = tmp_path / "scores.csv"
    lines = case.challenger.read_text().splitlines()
    # Scores that are not probabilities cannot be scored by log loss.
    scores.write_text(
        "\n".join([lines[0], *(f"{line.split(',')[0]},{float(line.split(',')[1]) * 3}" for line in lines[1:])]) + "\n"
    )
    evaluation = submit(make_run(cast.project, cast.engineer), benchmark.datasets.get(), cast.engineer, scores)
    assert evaluation.status == EvaluationStatus.FAILED
    assert evaluation.attempts == 1
    assert evaluation.error.startswith("scores.csv, line ")
    assert "log_loss needs probabilities" in evaluation.error
    assert services.evaluation_execute(evaluation_id=evaluation.pk) == "not-claimed"


def test_the_sweeper_is_on_the_periodic_schedule():
    from agileml.celery import app

    app.loader.import_default_modules()  # what a worker or beat does at start: autodiscovery
    entry = app.conf.beat_schedule["evaluation-sweep"]
    assert entry["task"] == "experiments.tasks.evaluation_sweep"
    assert entry["task"] in app.tasks
    assert "experiments.tasks.evaluation_run" in app.tasks


def _multiclass_files(folder, rng):
    classes = ["walk", "sit", "run"]
    y = rng.integers(0, 3, 300)
    truth = "id,label,group\n" + "".join(f"r{i},{classes[c]},g{i % 30}\n" for i, c in enumerate(y))
    files = {"truth": truth}
    for name, accuracy in (("champion", 0.55), ("challenger", 0.9)):
        guess = np.where(rng.random(300) < accuracy, y, rng.integers(0, 3, 300))
        files[name] = "id,label\n" + "".join(f"r{i},{classes[c]}\n" for i, c in enumerate(guess))
    return files


def _regression_files(folder, rng):
    y = rng.normal(50, 10, 300)
    files = {"truth": "id,label,group\n" + "".join(f"r{i},{v:.4f},g{i % 30}\n" for i, v in enumerate(y))}
    for name, noise in (("champion", 8.0), ("challenger", 2.0)):
        guess = y + rng.normal(0, noise, 300)
        files[name] = "id,prediction\n" + "".join(f"r{i},{v:.4f}\n" for i, v in enumerate(guess))
    return files


@pytest.mark.parametrize(
    ("task", "make", "label"),
    [("multiclass", _multiclass_files, "Accuracy"), ("regression", _regression_files, "RMSE")],
)
def test_other_tasks_are_evaluated_compared_and_shown(cast, media_root, tmp_path, web, task, make, label):
    files = make(tmp_path, np.random.default_rng(5))
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f"{name}.csv"
        paths[name].write_text(content)
    benchmark = make_benchmark(cast.project, cast.lead, truth=paths["truth"], name=task, task=task, guardrails={})
    dataset = benchmark.datasets.get()
    crown(
        benchmark, submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, paths["champion"]), cast.lead
    )
    challenger = submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, paths["challenger"])
    assert challenger.status == EvaluationStatus.SUCCEEDED, challenger.error
    assert challenger.verdict == "better" and challenger.gate_allowed
    page = web(cast.stakeholder).get(f"/p/AUTH/evaluations/{challenger.pk}/").content.decode()
    assert f"{label} " in page.split('data-testid="comparison-sentence">', 1)[1].split("</p>", 1)[0]
    assert 'data-testid="roc-chart"' not in page
    bench_page = web(cast.stakeholder).get(f"/p/AUTH/benchmarks/{benchmark.pk}/")
    assert bench_page.status_code == 200
    assert 'data-testid="forest-plot"' in bench_page.content.decode()


def test_the_sweeper_gives_up_on_a_transient_failure_that_lasts(bench, case, cast, settings):
    """A stored file that stays missing is retried for a while, then recorded as failed once."""
    settings.EVALUATION_GIVE_UP_SECONDS = 3600
    dataset = bench.datasets.get()
    stuck = submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, case.challenger, run_now=False)
    waiting = submit(make_run(cast.project, cast.engineer), dataset, cast.engineer, case.champion, run_now=False)
    two_hours_ago = timezone.now() - dt.timedelta(hours=2)
    Evaluation.objects.filter(pk=stuck.pk).update(
        created_at=two_hours_ago, queued_at=two_hours_ago, error="FileNotFoundError: the stored file is missing"
    )
    # Queued as long but never failed: no worker has taken it yet, so it is only re-sent.
    Evaluation.objects.filter(pk=waiting.pk).update(created_at=two_hours_ago, queued_at=two_hours_ago)
    swept = services.evaluation_sweep()
    assert swept.failed == [stuck.pk]
    assert swept.resent == [waiting.pk]
    stuck.refresh_from_db()
    assert stuck.status == EvaluationStatus.FAILED
    assert stuck.error == "Gave up after retrying for 1 h: FileNotFoundError: the stored file is missing"
    assert services.evaluation_sweep().failed == []
