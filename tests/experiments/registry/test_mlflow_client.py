"""The stock MLflow client, unchanged, using AgileML's model registry on a live server."""

from __future__ import annotations

import numpy as np
import pytest
from mlflow.exceptions import MlflowException

from experiments.models import ModelVersion, RegisteredModel
from tests.experiments.registry.helpers import X, log_model_run
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_register_a_run_model_then_load_it_by_version_and_by_alias(mlflow_as, cast, tmp_path):
    mlflow = mlflow_as(cast.engineer)
    ticket = TicketFactory(project=cast.project, title="Try a logistic regression")
    run_id = log_model_run(mlflow, tmp_path, ticket=ticket.key)

    version = mlflow.register_model(f"runs:/{run_id}/model", "fraud-scorer")
    assert version.version == "1"
    assert version.run_id == run_id
    stored = ModelVersion.objects.select_related("registered_model__project", "run").get()
    assert stored.registered_model.project == cast.project
    assert stored.run.uuid == run_id and stored.artifact_path == "model"

    loaded = mlflow.pyfunc.load_model("models:/fraud-scorer/1")
    assert list(loaded.predict(X)) == [0, 0, 1, 1, 0, 1]

    client = mlflow.MlflowClient()
    client.set_registered_model_alias("fraud-scorer", "challenger", "1")
    by_alias = mlflow.pyfunc.load_model("models:/fraud-scorer@challenger")
    assert np.array_equal(by_alias.predict(X), loaded.predict(X))
    assert client.get_model_version_by_alias("fraud-scorer", "challenger").version == "1"
    assert client.get_model_version_download_uri("fraud-scorer", "1") == (
        f"mlflow-artifacts:/{cast.project.pk}/{run_id}/artifacts/model"
    )

    # A second registration of the same name adds version 2.
    second = mlflow.register_model(f"runs:/{log_model_run(mlflow, tmp_path, c=0.1)}/model", "fraud-scorer")
    assert second.version == "2"
    latest = client.get_latest_versions("fraud-scorer")
    assert [v.version for v in latest] == ["2"]


def test_search_tags_descriptions_rename_and_delete(mlflow_as, cast, tmp_path):
    mlflow = mlflow_as(cast.engineer)
    client = mlflow.MlflowClient()
    run_id = log_model_run(mlflow, tmp_path)
    client.create_registered_model("alpha", tags={"team": "auth"}, description="First try")
    client.create_registered_model("beta")
    client.create_model_version("alpha", f"runs:/{run_id}/model", run_id=run_id, description="from the run")

    found = client.search_registered_models()
    assert [m.name for m in found] == ["alpha", "beta"]
    assert found[0].tags == {"team": "auth"} and found[0].description == "First try"
    assert [v.version for v in found[0].latest_versions] == ["1"]
    assert [m.name for m in client.search_registered_models(filter_string="name LIKE 'al%'")] == ["alpha"]
    assert [m.name for m in client.search_registered_models(max_results=1)] == ["alpha"]
    page = client.search_registered_models(max_results=1)
    assert page.token and [m.name for m in client.search_registered_models(max_results=1, page_token=page.token)] == [
        "beta"
    ]

    versions = client.search_model_versions(f"run_id = '{run_id}'")
    assert [(v.name, v.version, v.description) for v in versions] == [("alpha", "1", "from the run")]
    assert [v.name for v in client.search_model_versions("name = 'beta'")] == []

    client.update_registered_model("alpha", description="Better description")
    client.set_registered_model_tag("alpha", "stage", "research")
    client.delete_registered_model_tag("alpha", "team")
    client.update_model_version("alpha", "1", description="v1 notes")
    client.set_model_version_tag("alpha", "1", "checked", "yes")
    model = client.get_registered_model("alpha")
    assert model.description == "Better description"
    assert model.tags == {"stage": "research"}
    version = client.get_model_version("alpha", "1")
    assert version.description == "v1 notes" and version.tags == {"checked": "yes"}
    client.delete_model_version_tag("alpha", "1", "checked")
    assert client.get_model_version("alpha", "1").tags == {}

    client.rename_registered_model("beta", "gamma")
    assert [m.name for m in client.search_registered_models()] == ["alpha", "gamma"]
    client.delete_registered_model("gamma")
    client.delete_model_version("alpha", "1")
    assert list(RegisteredModel.objects.values_list("name", flat=True)) == ["alpha"]
    assert not ModelVersion.objects.exists()

    with pytest.raises(MlflowException, match="already exists in AUTH"):
        client.create_registered_model("alpha")
    with pytest.raises(MlflowException, match="no version 7"):
        client.get_model_version("alpha", "7")
    client.create_model_version("alpha", f"runs:/{run_id}/model", run_id=run_id)
    with pytest.raises(MlflowException, match="stages are deprecated"):
        client.transition_model_version_stage("alpha", "2", "Production")


def test_a_version_needs_a_model_in_the_run(mlflow_as, cast, tmp_path):
    mlflow = mlflow_as(cast.engineer)
    client = mlflow.MlflowClient()
    mlflow.set_experiment("AUTH")
    (tmp_path / "notes.txt").write_text("no model here")
    with mlflow.start_run() as active:
        mlflow.log_artifact(str(tmp_path / "notes.txt"), artifact_path="model")
    client.create_registered_model("empty")
    with pytest.raises(MlflowException, match="no MLflow model at 'model'"):
        client.create_model_version("empty", f"runs:/{active.info.run_id}/model", run_id=active.info.run_id)
    assert not ModelVersion.objects.exists()


def test_a_stakeholder_reads_but_cannot_register(mlflow_as, cast, tmp_path):
    mlflow = mlflow_as(cast.engineer)
    run_id = log_model_run(mlflow, tmp_path)
    mlflow.register_model(f"runs:/{run_id}/model", "scorer")

    mlflow = mlflow_as(cast.stakeholder)
    client = mlflow.MlflowClient()
    assert [m.name for m in client.search_registered_models()] == ["scorer"]
    assert list(mlflow.pyfunc.load_model("models:/scorer/1").predict(X)) == [0, 0, 1, 1, 0, 1]
    with pytest.raises(MlflowException, match="read-only"):
        client.set_registered_model_alias("scorer", "challenger", "1")
    with pytest.raises(MlflowException, match="read-only"):
        client.create_registered_model("other")

    outsider = mlflow_as(cast.outsider).MlflowClient()
    assert outsider.search_registered_models() == []
    with pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST"):
        outsider.get_registered_model("scorer")
