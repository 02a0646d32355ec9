"""predictions.csv logged by the stock MLflow client on a run tagged agileml.benchmark=<name> is evaluated."""

from __future__ import annotations

import shutil

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
import requests
from django.conf import settings
from mlflow.exceptions import MlflowException

from experiments.models import Artifact, Evaluation, EvaluationStatus, PredictionSet, PredictionSource, Run
from tests.conftest import wait_until
from tests.experiments.benchmark_helpers import (
    crown,
    make_benchmark,
    make_run,
    submit,
    write_binary_case,
)

# The client uploads artifacts with plain requests: its error carries the server's message.
CLIENT_ERRORS = (MlflowException, requests.HTTPError)


def _message(error: Exception) -> str:
    response = getattr(error, "response", None)
    return response.json()["message"] if response is not None else str(error)


pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def media():
    """The worker process must read what the live server stored, so both use the default test MEDIA_ROOT."""
    before = set(settings.MEDIA_ROOT.glob("*/*"))
    yield settings.MEDIA_ROOT
    for path in set(settings.MEDIA_ROOT.glob("*/*")) - before:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def bench(cast, tmp_path, media):
    case = write_binary_case(tmp_path / "case")
    benchmark = make_benchmark(cast.project, cast.lead, case)
    dataset = benchmark.datasets.get()
    crown(
        benchmark,
        submit(make_run(cast.project, cast.engineer, "rule"), dataset, cast.engineer, case.champion),
        cast.lead,
    )
    return benchmark, case


def test_a_tagged_run_logging_predictions_is_evaluated_by_a_worker(mlflow_as, cast, bench, tmp_path, celery_worker):
    benchmark, case = bench
    mlflow = mlflow_as(cast.engineer)
    predictions = tmp_path / "out" / "predictions.csv"
    predictions.parent.mkdir()
    shutil.copy(case.challenger, predictions)
    mlflow.set_experiment("AUTH")
    with mlflow.start_run(run_name="gbm", tags={"agileml.benchmark": "holdout"}) as active:
        mlflow.log_param("trees", 150)
        mlflow.log_artifact(str(predictions))
    run = Run.objects.get(uuid=active.info.run_id)
    prediction_set = PredictionSet.objects.get(run=run)
    assert prediction_set.source == PredictionSource.MLFLOW
    assert prediction_set.dataset.benchmark == benchmark
    evaluation = wait_until(
        lambda: Evaluation.objects.filter(run=run, status=EvaluationStatus.SUCCEEDED).first(),
        timeout=120,
        what="the automatic evaluation",
    )
    assert evaluation.champion_run_id == benchmark.champion_id
    assert evaluation.verdict == "better"
    assert Artifact.objects.filter(run=run, path="predictions.csv").exists()


def test_a_bad_predictions_artifact_is_refused_with_the_engine_message(mlflow_as, cast, bench, tmp_path):
    mlflow = mlflow_as(cast.engineer)
    predictions = tmp_path / "predictions.csv"
    predictions.write_text("id,score\ns000-a00,0.3\ns000-a01,oops\n")
    mlflow.set_experiment("AUTH")
    with mlflow.start_run(tags={"agileml.benchmark": "holdout"}) as active, pytest.raises(CLIENT_ERRORS) as caught:
        mlflow.log_artifact(str(predictions))
    assert 'predictions.csv, line 3, column 2 (score): "oops" is not a number' in _message(caught.value)
    run = Run.objects.get(uuid=active.info.run_id)
    assert not Artifact.objects.filter(run=run).exists()
    assert not PredictionSet.objects.filter(run=run).exists()
    assert not (settings.MEDIA_ROOT / "artifacts" / run.uuid / "predictions.csv").exists()


def test_a_tag_naming_no_benchmark_is_refused_and_untagged_runs_are_left_alone(mlflow_as, cast, bench, tmp_path):
    mlflow = mlflow_as(cast.engineer)
    predictions = tmp_path / "predictions.csv"
    predictions.write_text("id,score\ns000-a00,0.3\n")
    mlflow.set_experiment("AUTH")
    with mlflow.start_run(tags={"agileml.benchmark": "nope"}), pytest.raises(CLIENT_ERRORS) as caught:
        mlflow.log_artifact(str(predictions))
    assert "Tag agileml.benchmark='nope' names no benchmark of this project (benchmarks: holdout)." in _message(
        caught.value
    )
    with mlflow.start_run() as active:
        mlflow.log_artifact(str(predictions))
    run = Run.objects.get(uuid=active.info.run_id)
    assert Artifact.objects.filter(run=run, path="predictions.csv").exists()
    assert not PredictionSet.objects.filter(run=run).exists()


def test_predictions_logged_as_parquet_are_accepted_and_refused_by_row(mlflow_as, cast, bench, tmp_path):
    _, case = bench
    mlflow = mlflow_as(cast.engineer)
    mlflow.set_experiment("AUTH")
    good = tmp_path / "good" / "predictions.parquet"
    good.parent.mkdir()
    pq.write_table(pcsv.read_csv(case.challenger), good)
    with mlflow.start_run(tags={"agileml.benchmark": "holdout"}) as active:
        mlflow.log_artifact(str(good))
    run = Run.objects.get(uuid=active.info.run_id)
    prediction_set = PredictionSet.objects.get(run=run)
    assert (prediction_set.original_name, prediction_set.n_rows) == ("predictions.parquet", 480)
    assert prediction_set.file.endswith(".parquet")
    assert Evaluation.objects.filter(run=run, predictions=prediction_set).exists()

    bad = tmp_path / "bad" / "predictions.parquet"
    bad.parent.mkdir()
    pq.write_table(pa.table({"id": ["s000-a00", "s000-a01"], "score": [0.3, None]}), bad)
    with mlflow.start_run(tags={"agileml.benchmark": "holdout"}) as active, pytest.raises(CLIENT_ERRORS) as caught:
        mlflow.log_artifact(str(bad))
    assert "predictions.parquet, row 2, column 2 (score): empty value" in _message(caught.value)
    run = Run.objects.get(uuid=active.info.run_id)
    assert not Artifact.objects.filter(run=run).exists() and not PredictionSet.objects.filter(run=run).exists()
