"""MLflow 3 logged models with the stock client against a live AgileML server: autolog with its
default settings, log_model and load_model by ``runs:/`` and ``models:/m-…``."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.models import LatestMetric, LoggedModel, LoggedModelFile, Param, Run, RunModelLink

pytestmark = pytest.mark.django_db(transaction=True)


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=60) > 0).astype(int)
    return X, y


def test_autolog_with_default_settings_logs_params_metrics_and_the_model(mlflow_as, cast):
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    mlflow = mlflow_as(cast.engineer)
    mlflow.set_experiment("AUTH")
    X, y = _data()
    mlflow.sklearn.autolog()
    try:
        with mlflow.start_run() as active:
            LogisticRegression(C=0.5, max_iter=200).fit(X, y)
    finally:
        mlflow.sklearn.autolog(disable=True)
    run = Run.objects.get(uuid=active.info.run_id)
    assert Param.objects.get(run=run, key="C").value == "0.5"
    assert LatestMetric.objects.get(run=run, key="training_accuracy_score").value > 0.7
    model = LoggedModel.objects.get(run=run)
    assert model.status == "ready" and model.flavor == "sklearn"
    assert LoggedModelFile.objects.filter(model=model, path="MLmodel").exists()
    assert RunModelLink.objects.filter(run=run, model=model, direction="output").exists()
    loaded = mlflow.pyfunc.load_model(f"runs:/{run.uuid}/model")
    assert list(loaded.predict(X[:5])) == list(LogisticRegression(C=0.5, max_iter=200).fit(X, y).predict(X[:5]))


@pytest.mark.parametrize("how", ["name", "artifact_path"])
def test_log_model_then_load_it_by_run_and_by_model_id(mlflow_as, cast, how):
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    mlflow = mlflow_as(cast.engineer)
    mlflow.set_experiment("AUTH")
    X, y = _data()
    tree = LogisticRegression(C=2.0).fit(X, y)
    with mlflow.start_run() as active:
        info = mlflow.sklearn.log_model(tree, input_example=X[:2], **{how: "tree"})
    assert info.model_id.startswith("m-")
    model = LoggedModel.objects.get(model_id=info.model_id)
    assert model.name == "tree" and model.run.uuid == active.info.run_id
    assert model.signature["inputs"] and model.size > 0
    expected = list(tree.predict(X[:7]))
    assert list(mlflow.pyfunc.load_model(f"runs:/{active.info.run_id}/tree").predict(X[:7])) == expected
    assert list(mlflow.pyfunc.load_model(f"models:/{info.model_id}").predict(X[:7])) == expected
    assert list(mlflow.sklearn.load_model(info.model_uri).predict(X[:7])) == expected

    client = mlflow.MlflowClient()
    fetched = client.get_logged_model(info.model_id)
    assert fetched.source_run_id == active.info.run_id and fetched.name == "tree"
    assert fetched.status.name == "READY" if hasattr(fetched.status, "name") else str(fetched.status) == "READY"
    found = client.search_logged_models(experiment_ids=[str(cast.project.pk)], filter_string="name = 'tree'")
    assert [m.model_id for m in found] == [info.model_id]
    client.set_logged_model_tags(info.model_id, {"stage": "candidate"})
    assert client.get_logged_model(info.model_id).tags["stage"] == "candidate"
    client.delete_logged_model_tag(info.model_id, "stage")
    assert "stage" not in client.get_logged_model(info.model_id).tags
