"""The whole journey with the stock MLflow 3 client: an unchanged training script (its own experiment
name, autolog with defaults, log_input, log_model, register_model) against a project-scoped URI;
its run is evaluated and promoted in AgileML; production loads ``models:/<benchmark>@champion``."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.models import Experiment, LoggedModel, Metric, ModelVersion, Param, Run, RunDataset
from tests.conftest import api_client_for
from tests.experiments.benchmark_helpers import make_benchmark, media_root_fixture, submit, write_binary_case  # noqa: F401
from tests.experiments.registry.helpers import X, Y

pytestmark = pytest.mark.django_db(transaction=True)


def _training_script(mlflow) -> str:
    """What a team already runs against `mlflow server`, line for line."""
    import mlflow.sklearn
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    mlflow.set_experiment("churn-v2")
    mlflow.sklearn.autolog()
    frame = pd.DataFrame(X, columns=["dwell", "flight"]).assign(label=Y)
    with mlflow.start_run(run_name="rhythm-lr") as run:
        mlflow.log_input(mlflow.data.from_pandas(frame, source="holdout.csv", targets="label"), context="training")
        model = LogisticRegression(C=10.0).fit(X, Y)
        mlflow.sklearn.log_model(model, name="model", input_example=X[:2])
    mlflow.register_model(f"runs:/{run.info.run_id}/model", "churn-v2-model")
    return run.info.run_id


def test_an_unchanged_mlflow3_script_then_production_loads_the_champion(
    mlflow_as, live_server, monkeypatch, cast, tmp_path, media_root, settings
):
    settings.EVALUATION_RESAMPLES = 200
    case = write_binary_case(tmp_path / "case", n_subjects=20, rows_per_subject=10)
    bench = make_benchmark(cast.project, cast.lead, case)
    mlflow = mlflow_as(cast.engineer)
    scoped = f"{live_server.url}/mlflow/AUTH"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", scoped)
    mlflow.set_tracking_uri(scoped)

    run_id = _training_script(mlflow)

    run = Run.objects.select_related("project", "experiment").get(uuid=run_id)
    assert run.project == cast.project and run.experiment == Experiment.objects.get(name="churn-v2")
    assert Param.objects.filter(run=run, key="C", value="10.0").exists()  # autolog's params
    assert Metric.objects.filter(run=run, key__startswith="training_").exists()  # autolog's metrics
    assert RunDataset.objects.filter(run=run).exists()
    assert LoggedModel.objects.filter(run=run).count() >= 1
    registered = ModelVersion.objects.get(registered_model__name="churn-v2-model")
    assert registered.run == run
    client = mlflow.MlflowClient()
    own = mlflow.pyfunc.load_model("models:/churn-v2-model/1")
    assert np.array_equal(own.predict(X), mlflow.pyfunc.load_model(f"runs:/{run_id}/model").predict(X))

    # AgileML: the run's predictions on the evaluation set, then a lead promotes it.
    evaluation = submit(run, bench.datasets.get(), cast.engineer, case.champion)
    response = api_client_for(cast.lead).post(
        f"/api/v1/benchmarks/{bench.pk}/promote/", {"evaluation": evaluation.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["model_version"] == 1

    # Production: the plain URI, a stakeholder's token, the champion by alias.
    production = mlflow_as(cast.stakeholder)
    assert client.get_model_version_by_alias("holdout", "champion").run_id == run_id
    champion = production.pyfunc.load_model("models:/holdout@champion")
    assert np.array_equal(champion.predict(X), own.predict(X))
