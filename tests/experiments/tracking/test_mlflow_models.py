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


URL = "/mlflow/api/2.0/mlflow/"


def _create(api, user, cast, name="clf"):
    return api(user).post(URL + "logged-models", {"experiment_id": str(cast.project.pk), "name": name}, format="json")


def test_role_matrix_of_the_logged_model_endpoints(api, cast):
    assert _create(api, cast.stakeholder, cast).status_code == 403
    created = _create(api, cast.engineer, cast)
    assert created.status_code == 200, created.content
    model_id = created.json()["model"]["info"]["model_id"]
    assert created.json()["model"]["info"]["status"] == "LOGGED_MODEL_PENDING"
    assert created.json()["model"]["info"]["artifact_uri"] == (
        f"mlflow-artifacts:/{cast.project.pk}/models/{model_id}/artifacts"
    )
    for user in (cast.stakeholder, cast.engineer, cast.lead):
        assert api(user).get(URL + f"logged-models/{model_id}").status_code == 200
    finalize = {"model_id": model_id, "status": "LOGGED_MODEL_READY"}
    assert api(cast.stakeholder).patch(URL + f"logged-models/{model_id}", finalize, format="json").status_code == 403
    tags = {"tags": [{"key": "k", "value": "v"}]}
    assert api(cast.stakeholder).patch(URL + f"logged-models/{model_id}/tags", tags, format="json").status_code == 403
    assert api(cast.stakeholder).delete(URL + f"logged-models/{model_id}").status_code == 403
    assert api(cast.lead).patch(URL + f"logged-models/{model_id}", finalize, format="json").status_code == 200
    assert LoggedModel.objects.get(model_id=model_id).status == "ready"
    assert api(cast.engineer).delete(URL + f"logged-models/{model_id}").status_code == 200
    assert api(cast.engineer).get(URL + f"logged-models/{model_id}").status_code == 404
    assert api(cast.engineer).get(URL + f"logged-models/{model_id}", {"allow_deleted": "true"}).status_code == 200


def test_outsiders_cannot_tell_a_hidden_model_from_a_missing_one(api, cast):
    model_id = _create(api, cast.engineer, cast).json()["model"]["info"]["model_id"]
    missing = "m-" + "0" * 32
    client = api(cast.outsider)
    for method, suffix, body in (
        ("get", "", None),
        ("patch", "", {"status": "LOGGED_MODEL_READY"}),
        ("delete", "", None),
        ("patch", "/tags", {"tags": []}),
        ("delete", "/tags/k", None),
        ("post", "/params", {"params": []}),
        ("get", "/artifacts/directories", None),
    ):
        answers = [
            getattr(client, method)(URL + f"logged-models/{m}{suffix}", body, format="json" if body else None)
            for m in (model_id, missing)
        ]
        assert [a.status_code for a in answers] == [404, 404], (method, suffix)
        assert answers[0].content == answers[1].content
    artifacts = "/mlflow/api/2.0/mlflow-artifacts/artifacts"
    hidden = client.get(artifacts, {"path": f"{cast.project.pk}/models/{model_id}/artifacts"})
    absent = client.get(artifacts, {"path": f"{cast.project.pk}/models/{missing}/artifacts"})
    assert (hidden.status_code, hidden.content) == (absent.status_code, absent.content) and hidden.status_code == 404


def test_logged_model_search_costs_the_same_for_one_or_many_models(api, cast, django_assert_num_queries):
    for index in range(2):
        _create(api, cast.engineer, cast, name=f"m{index}")
    client = api(cast.stakeholder)
    body = {"experiment_ids": [str(cast.project.pk)]}
    client.post(URL + "logged-models/search", body, format="json")

    def search() -> int:
        return len(client.post(URL + "logged-models/search", body, format="json").json()["models"])

    # token + user, membership of the experiment's project, models (with their runs), tags, params
    with django_assert_num_queries(5):
        assert search() == 2
    for index in range(2, 7):
        _create(api, cast.engineer, cast, name=f"m{index}")
    with django_assert_num_queries(5):
        assert search() == 7


def test_the_run_page_lists_models_and_inputs_and_the_zip_downloads(mlflow_as, cast, client):
    import io
    import zipfile

    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    mlflow = mlflow_as(cast.engineer)
    mlflow.set_experiment("AUTH")
    X, y = _data()
    with mlflow.start_run() as active:
        info = mlflow.sklearn.log_model(LogisticRegression().fit(X, y), name="clf", input_example=X[:2])
    run = Run.objects.get(uuid=active.info.run_id)
    client.force_login(cast.stakeholder)
    page = client.get(f"/p/AUTH/runs/{run.pk}/").content.decode()
    assert "clf" in page and "sklearn" in page and f"models:/{info.model_id}" in page
    download = client.get(f"/p/AUTH/runs/{run.pk}/models/{info.model_id}.zip")
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert "MLmodel" in archive.namelist() and "model.skops" in "".join(archive.namelist())
    assert client.get(f"/p/AUTH/runs/{run.pk}/models/m-{'0' * 32}.zip").status_code == 404
