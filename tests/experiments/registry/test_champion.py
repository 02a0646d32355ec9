"""``@champion`` and the promotion gate are one thing: setting the alias from the MLflow client goes
through the gate with the gate's rights, and promoting in AgileML moves the alias."""

from __future__ import annotations

import numpy as np
import pytest
from mlflow.exceptions import MlflowException

from experiments.models import Benchmark, ChampionChange, ModelAlias, ModelVersion, Run
from tests.conftest import api_client_for
from tests.experiments.benchmark_helpers import make_benchmark, media_root_fixture, submit, write_binary_case  # noqa: F401
from tests.experiments.registry.helpers import X, log_model_run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def case(tmp_path, settings):
    settings.EVALUATION_RESAMPLES = 200
    return write_binary_case(tmp_path / "case", n_subjects=20, rows_per_subject=10)


@pytest.fixture
def bench(cast, case, media_root):
    return make_benchmark(cast.project, cast.lead, case)


def _evaluate(run_id: str, bench: Benchmark, user, predictions):
    run = Run.objects.select_related("project").get(uuid=run_id)
    return submit(run, bench.datasets.get(), user, predictions)


def _champion_alias():
    return ModelAlias.objects.filter(alias="champion").values_list("model_version__version", flat=True).first()


def test_the_champion_alias_moves_only_through_the_gate(mlflow_as, cast, bench, case, tmp_path, media_root):
    mlflow = mlflow_as(cast.engineer)
    baseline_id = log_model_run(mlflow, tmp_path, name="baseline")
    worse_id = log_model_run(mlflow, tmp_path, name="tiny", c=0.01)
    assert mlflow.register_model(f"runs:/{baseline_id}/model", "holdout").version == "1"
    assert mlflow.register_model(f"runs:/{worse_id}/model", "holdout").version == "2"
    _evaluate(baseline_id, bench, cast.engineer, case.champion)

    # Engineers set other aliases freely, but not @champion; stakeholders set nothing.
    engineer = mlflow.MlflowClient()
    engineer.set_registered_model_alias("holdout", "challenger", "2")
    with pytest.raises(MlflowException, match="Only a lead can move @champion") as refused:
        engineer.set_registered_model_alias("holdout", "champion", "1")
    assert refused.value.error_code == "PERMISSION_DENIED"
    with pytest.raises(MlflowException, match="read-only"):
        mlflow_as(cast.stakeholder).MlflowClient().set_registered_model_alias("holdout", "champion", "1")
    assert _champion_alias() is None

    # A lead makes the evaluated baseline the champion: alias and champion history move together.
    lead = mlflow_as(cast.lead).MlflowClient()
    lead.set_registered_model_alias("holdout", "champion", "1")
    bench.refresh_from_db()
    assert bench.champion.uuid == baseline_id
    change = ChampionChange.objects.get(benchmark=bench)
    assert (change.model_version, change.promoted_by, change.run.uuid) == (1, cast.lead, baseline_id)
    assert "@champion set to version 1" in change.note
    assert _champion_alias() == 1
    assert lead.get_model_version_by_alias("holdout", "champion").run_id == baseline_id
    champion = mlflow.pyfunc.load_model("models:/holdout@champion")
    assert list(champion.predict(X)) == [0, 0, 1, 1, 0, 1]

    # Version 2's run has no evaluation, then a failing one: refused with the gate's reasons.
    with pytest.raises(MlflowException, match="has no succeeded evaluation on benchmark holdout"):
        lead.set_registered_model_alias("holdout", "champion", "2")
    worse = _evaluate(worse_id, bench, cast.engineer, case.worse)
    assert worse.gate_allowed is False
    with pytest.raises(MlflowException) as refused:
        lead.set_registered_model_alias("holdout", "champion", "2")
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert worse.gate_reasons[0] in refused.value.message
    assert "written reason" in refused.value.message
    bench.refresh_from_db()
    assert bench.champion.uuid == baseline_id
    assert ChampionChange.objects.filter(benchmark=bench).count() == 1
    assert _champion_alias() == 1

    # @champion cannot be removed, nor its version deleted.
    with pytest.raises(MlflowException, match="moves only through the promotion gate"):
        lead.delete_registered_model_alias("holdout", "champion")
    with pytest.raises(MlflowException, match="is @champion"):
        lead.delete_model_version("holdout", "1")
    with pytest.raises(MlflowException, match="cannot be deleted"):
        lead.delete_registered_model("holdout")
    assert _champion_alias() == 1


def test_promoting_in_agileml_registers_the_model_and_moves_the_champion_alias(
    mlflow_as, cast, bench, case, tmp_path, media_root, web
):
    mlflow = mlflow_as(cast.engineer)
    baseline_id = log_model_run(mlflow, tmp_path, name="baseline")
    strong_id = log_model_run(mlflow, tmp_path, name="strong", c=100.0)
    baseline = _evaluate(baseline_id, bench, cast.engineer, case.champion)
    api = api_client_for(cast.lead)
    response = api.post(f"/api/v1/benchmarks/{bench.pk}/promote/", {"evaluation": baseline.pk}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["model_version"] == 1
    version = ModelVersion.objects.get()
    assert (version.registered_model.name, version.run.uuid, version.source) == (
        "holdout", baseline_id, f"runs:/{baseline_id}/model"
    )  # fmt: skip
    assert version.registered_model.benchmark_id == bench.pk

    strong = _evaluate(strong_id, bench, cast.engineer, case.challenger)
    assert strong.gate_allowed is True
    response = api.post(f"/api/v1/benchmarks/{bench.pk}/promote/", {"evaluation": strong.pk}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["model_version"] == 2
    client = mlflow.MlflowClient()
    assert client.get_model_version_by_alias("holdout", "champion").run_id == strong_id
    loaded = mlflow.pyfunc.load_model("models:/holdout@champion")
    assert np.array_equal(loaded.predict(X), mlflow.pyfunc.load_model(f"runs:/{strong_id}/model").predict(X))

    history = api.get(f"/api/v1/benchmarks/{bench.pk}/").json()["champion_history"]
    assert [c["model_version"] for c in history] == [2, 1]
    page = web(cast.stakeholder).get(f"/p/AUTH/benchmarks/{bench.pk}/").content.decode()
    assert 'data-testid="history-model-version">model v2</a>' in page
    assert "/p/AUTH/models/holdout/" in page
