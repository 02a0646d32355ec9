"""Run inputs with the stock client: datasets from ``mlflow.log_input`` and ``mlflow.models.evaluate``."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.models import LatestMetric, Run, RunDataset

pytestmark = pytest.mark.django_db(transaction=True)


def _frame():
    import pandas as pd

    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 2))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    return pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "label": y})


def test_log_input_stores_the_dataset_with_digest_source_schema_and_context(mlflow_as, cast):
    mlflow = mlflow_as(cast.engineer)
    mlflow.set_experiment("AUTH")
    frame = _frame()
    dataset = mlflow.data.from_pandas(frame, source="s3://bucket/churn.parquet", name="churn", targets="label")
    with mlflow.start_run() as active:
        mlflow.log_input(dataset, context="training", tags={"split": "2026-11"})
    row = RunDataset.objects.get(run__uuid=active.info.run_id)
    assert (row.name, row.digest, row.context) == ("churn", dataset.digest, "training")
    assert "churn.parquet" in row.source and row.source_type == dataset.source._get_source_type()
    assert '"a"' in row.schema and row.tags["split"] == "2026-11"
    fetched = mlflow.MlflowClient().get_run(active.info.run_id)
    [logged] = fetched.inputs.dataset_inputs
    assert logged.dataset.name == "churn" and logged.dataset.digest == dataset.digest
    assert {t.key: t.value for t in logged.tags}["mlflow.data.context"] == "training"


def test_evaluate_a_logged_model_puts_its_metrics_on_the_run(mlflow_as, cast):
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    mlflow = mlflow_as(cast.engineer)
    mlflow.set_experiment("AUTH")
    frame = _frame()
    model = LogisticRegression().fit(frame[["a", "b"]], frame["label"])
    with mlflow.start_run() as active:
        info = mlflow.sklearn.log_model(model, name="clf", input_example=frame[["a", "b"]].head(2))
        result = mlflow.models.evaluate(
            model=info.model_uri, data=frame, targets="label", model_type="classifier", evaluators=["default"]
        )
    assert result.metrics["accuracy_score"] > 0.8
    run = Run.objects.get(uuid=active.info.run_id)
    assert LatestMetric.objects.get(run=run, key="accuracy_score").value == pytest.approx(
        result.metrics["accuracy_score"]
    )
    # Evaluating a model as a run's input links the model to the run.
    assert info.model_id in {m.model_id for m in run.logged_models.all()}


def test_evaluate_a_static_predictions_column(mlflow_as, cast):
    mlflow = mlflow_as(cast.engineer)
    mlflow.set_experiment("AUTH")
    frame = _frame()
    frame["prediction"] = (frame["a"] > 0).astype(int)
    with mlflow.start_run() as active:
        result = mlflow.models.evaluate(
            data=frame, targets="label", predictions="prediction", model_type="classifier", evaluators=["default"]
        )
    stored = LatestMetric.objects.get(run__uuid=active.info.run_id, key="accuracy_score")
    assert stored.value == pytest.approx(result.metrics["accuracy_score"])
