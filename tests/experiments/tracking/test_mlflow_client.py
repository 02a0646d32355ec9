"""The stock MLflow client, unchanged, logging into a live AgileML server."""

from __future__ import annotations

import io
import math
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import requests
from rest_framework.authtoken.models import Token

from experiments.models import Artifact, LatestMetric, Metric, Param, Run, RunStatus, Tag
from tests.factories import TicketFactory
from tickets.models import WorkType

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_training_script_logs_everything_and_attaches_to_its_ticket(mlflow_as, cast, tmp_path, live_server):
    ticket = TicketFactory(project=cast.project, work_type=WorkType.ALGORITHM_DEVELOPMENT, title="Try SGD")
    mlflow = mlflow_as(cast.engineer)
    (tmp_path / "model.txt").write_text("weights v1")
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "roc.csv").write_text("fpr,tpr\n0,0\n1,1\n")

    mlflow.set_experiment("AUTH")
    printed = io.StringIO()
    with (
        redirect_stdout(printed),
        mlflow.start_run(run_name="sgd-baseline", tags={"agileml.ticket": ticket.key}) as active,
    ):
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"epochs": 3, "model": "sgd"})
        for step, loss in enumerate([0.9, 0.5, 0.3]):
            mlflow.log_metric("loss", loss, step=step)
        mlflow.log_metrics({"auc": 0.91, "eer": 0.12}, step=2)
        mlflow.set_tag("dataset", "keystrokes-v2")
        mlflow.log_artifact(str(tmp_path / "model.txt"))
        mlflow.log_artifacts(str(tmp_path / "plots"), artifact_path="plots")
    run_id = active.info.run_id

    run = Run.objects.get(uuid=run_id)
    assert run.ticket == ticket
    assert run.name == "sgd-baseline"
    assert run.status == RunStatus.FINISHED
    assert run.end_time is not None
    assert run.started_by == cast.engineer
    assert run.project == cast.project
    assert dict(Param.objects.filter(run=run).values_list("key", "value")) == {
        "lr": "0.01",
        "epochs": "3",
        "model": "sgd",
    }
    assert Tag.objects.get(run=run, key="dataset").value == "keystrokes-v2"
    assert list(Metric.objects.filter(run=run, key="loss").order_by("step").values_list("step", "value")) == [
        (0, 0.9),
        (1, 0.5),
        (2, 0.3),
    ]
    assert LatestMetric.objects.get(run=run, key="loss").value == 0.3
    assert sorted(Artifact.objects.filter(run=run).values_list("path", flat=True)) == ["model.txt", "plots/roc.csv"]

    # Reading back through the client sees the same thing.
    client = mlflow.MlflowClient()
    fetched = client.get_run(run_id)
    assert fetched.info.status == "FINISHED"
    assert fetched.info.experiment_id == str(cast.project.pk)
    assert fetched.data.params == {"lr": "0.01", "epochs": "3", "model": "sgd"}
    assert fetched.data.metrics == {"loss": 0.3, "auc": 0.91, "eer": 0.12}
    assert fetched.data.tags["agileml.ticket"] == ticket.key
    assert fetched.data.tags["mlflow.runName"] == "sgd-baseline"
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.9), (1, 0.5), (2, 0.3)]

    # The artifact round trip: list, then download byte for byte.
    assert [(f.path, f.is_dir) for f in client.list_artifacts(run_id)] == [("model.txt", False), ("plots", True)]
    assert [f.path for f in client.list_artifacts(run_id, "plots")] == ["plots/roc.csv"]
    downloaded = client.download_artifacts(run_id, "model.txt", str(tmp_path / "down"))
    assert Path(downloaded).read_text() == "weights v1"
    folder = client.download_artifacts(run_id, "plots", str(tmp_path / "down2"))
    assert (Path(folder) / "roc.csv").read_text() == "fpr,tpr\n0,0\n1,1\n"

    # The link the client printed lands on AgileML's page for the run.
    link = next(line for line in printed.getvalue().splitlines() if "View run" in line).split(" at: ")[1]
    assert link == f"{live_server.url}/mlflow/#/experiments/{cast.project.pk}/runs/{run_id}"


def test_an_exception_inside_the_run_marks_it_failed(mlflow_as, cast):
    mlflow = mlflow_as(cast.engineer)
    mlflow.set_experiment("AUTH")

    def train() -> str:
        with mlflow.start_run() as active:
            mlflow.log_metric("loss", float("nan"), step=0)
            raise RuntimeError(f"loss diverged in {active.info.run_id}")

    with pytest.raises(RuntimeError, match="diverged") as error:
        train()
    run_id = str(error.value).rsplit(" ", 1)[1]
    active = mlflow.MlflowClient().get_run(run_id)
    run = Run.objects.get(uuid=active.info.run_id)
    assert run.status == RunStatus.FAILED
    assert run.end_time is not None
    assert mlflow.MlflowClient().get_run(run.uuid).info.status == "FAILED"
    point = Metric.objects.get(run=run, key="loss")
    assert point.is_nan
    assert math.isnan(mlflow.MlflowClient().get_run(run.uuid).data.metrics["loss"])


def test_log_batch_and_search_runs_with_filters(mlflow_as, cast):
    from mlflow.entities import Metric as MlflowMetric
    from mlflow.entities import Param as MlflowParam

    mlflow = mlflow_as(cast.engineer)
    mlflow.set_experiment("AUTH")
    client = mlflow.MlflowClient()
    ids = {}
    for name, lr, auc in [("slow", "0.001", 0.81), ("fast", "0.1", 0.93), ("mid", "0.01", 0.88)]:
        with mlflow.start_run(run_name=name) as active:
            client.log_batch(
                active.info.run_id,
                metrics=[MlflowMetric("auc", auc - 0.1 * (2 - s), 1_700_000_000_000 + s, s) for s in range(3)],
                params=[MlflowParam("lr", lr)],
            )
        ids[name] = active.info.run_id

    found = mlflow.search_runs(experiment_names=["AUTH"], filter_string="metrics.auc > 0.85", output_format="list")
    assert {r.info.run_id for r in found} == {ids["fast"], ids["mid"]}
    ordered = mlflow.search_runs(experiment_names=["AUTH"], order_by=["metrics.auc DESC"], output_format="list")
    assert [r.info.run_name for r in ordered] == ["fast", "mid", "slow"]
    by_param = client.search_runs(
        [str(cast.project.pk)], filter_string="params.lr = '0.01' and attributes.status = 'FINISHED'"
    )
    assert [r.info.run_id for r in by_param] == [ids["mid"]]
    assert len(client.get_metric_history(ids["fast"], "auc")) == 3
    paged = client.search_runs([str(cast.project.pk)], max_results=2)
    assert len(paged) == 2 and paged.token
    rest = client.search_runs([str(cast.project.pk)], max_results=2, page_token=paged.token)
    assert len(rest) == 1 and not rest.token


def test_unknown_experiment_fails_clearly(mlflow_as, cast):
    mlflow = mlflow_as(cast.engineer)
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException) as error:
        mlflow.set_experiment("NOPE")
    assert error.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "NOPE" in error.value.message and "project" in error.value.message
    # The outsider's own project is not a place engineers of AUTH can log to, nor vice versa.
    with pytest.raises(MlflowException):
        mlflow.set_experiment("OTHER")
    assert Run.objects.count() == 0


def test_unknown_run_and_changed_param_raise_mlflow_errors(mlflow_as, cast):
    mlflow = mlflow_as(cast.engineer)
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    with pytest.raises(MlflowException) as error:
        client.get_run("0" * 32)
    assert error.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    mlflow.set_experiment("AUTH")
    with mlflow.start_run() as active:
        mlflow.log_param("lr", "0.1")
        mlflow.log_param("lr", "0.1")  # the same value again is fine
        with pytest.raises(MlflowException) as error:
            mlflow.log_param("lr", "0.2")
    assert error.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "lr" in error.value.message and "0.1" in error.value.message
    assert Param.objects.get(run__uuid=active.info.run_id, key="lr").value == "0.1"


def test_unknown_ticket_tag_is_rejected_and_creates_no_run(mlflow_as, cast):
    mlflow = mlflow_as(cast.engineer)
    from mlflow.exceptions import MlflowException

    mlflow.set_experiment("AUTH")
    with pytest.raises(MlflowException) as error:
        mlflow.start_run(tags={"agileml.ticket": "AUTH-999"})
    assert error.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "AUTH-999" in error.value.message
    assert Run.objects.count() == 0


def test_tag_set_later_attaches_and_deleting_it_detaches(mlflow_as, cast):
    ticket = TicketFactory(project=cast.project)
    mlflow = mlflow_as(cast.engineer)
    mlflow.set_experiment("AUTH")
    with mlflow.start_run() as active:
        assert Run.objects.get(uuid=active.info.run_id).ticket is None
        mlflow.set_tag("agileml.ticket", ticket.key)
        assert Run.objects.get(uuid=active.info.run_id).ticket == ticket
        mlflow.MlflowClient().delete_tag(active.info.run_id, "agileml.ticket")
        assert Run.objects.get(uuid=active.info.run_id).ticket is None


def test_stakeholders_read_but_cannot_log(mlflow_as, cast):
    from mlflow.exceptions import MlflowException

    mlflow = mlflow_as(cast.engineer)
    mlflow.set_experiment("AUTH")
    with mlflow.start_run() as active:
        mlflow.log_metric("loss", 0.5)
    mlflow.tracking.fluent._active_experiment_id = None

    mlflow = mlflow_as(cast.stakeholder)
    client = mlflow.MlflowClient()
    assert client.get_run(active.info.run_id).data.metrics == {"loss": 0.5}
    with pytest.raises(MlflowException) as error:
        client.log_metric(active.info.run_id, "loss", 0.1)
    assert error.value.error_code == "PERMISSION_DENIED"
    mlflow.set_experiment("AUTH")  # reading the experiment is allowed
    with pytest.raises(MlflowException) as error:
        mlflow.start_run()
    assert error.value.error_code == "PERMISSION_DENIED"
    assert Run.objects.count() == 1
    assert Metric.objects.count() == 1


def test_outsiders_and_bad_tokens_get_nothing(mlflow_as, cast):
    from mlflow.exceptions import MlflowException

    mlflow = mlflow_as(cast.engineer)
    mlflow.set_experiment("AUTH")
    with mlflow.start_run() as active:
        pass
    mlflow = mlflow_as(cast.outsider)
    with pytest.raises(MlflowException) as error:
        mlflow.MlflowClient().get_run(active.info.run_id)
    assert error.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_a_retried_request_stores_each_point_once(live_server, cast):
    token = Token.objects.create(user=cast.engineer).key
    headers = {"Authorization": f"Bearer {token}"}
    base = f"{live_server.url}/mlflow/api/2.0/mlflow"
    created = requests.post(
        f"{base}/runs/create",
        json={"experiment_id": str(cast.project.pk), "start_time": 1},
        headers=headers,
        timeout=30,
    )
    run_id = created.json()["run"]["info"]["run_id"]
    point = {"run_id": run_id, "key": "loss", "value": 0.25, "timestamp": 1_700_000_000_123, "step": 7}
    batch = {"run_id": run_id, "metrics": [{"key": "auc", "value": 0.8, "timestamp": 5, "step": 1}]}
    for _ in range(2):  # as the client does when a response is lost
        assert requests.post(f"{base}/runs/log-metric", json=point, headers=headers, timeout=30).status_code == 200
        assert requests.post(f"{base}/runs/log-batch", json=batch, headers=headers, timeout=30).status_code == 200
    assert Metric.objects.filter(run__uuid=run_id, key="loss").count() == 1
    assert Metric.objects.filter(run__uuid=run_id, key="auc").count() == 1


def test_the_readme_snippet_runs_as_written(mlflow_as, cast, tmp_path, monkeypatch):
    """The README's MLflow example is complete: pasted into a file, it runs and logs a run."""
    import re

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    section = readme.split("## Logging runs from MLflow", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    for number in range(1, 13):
        TicketFactory(project=cast.project, number=number, title=f"Ticket {number}")
    mlflow_as(cast.engineer)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - our own documentation
    run = Run.objects.get()
    assert run.ticket.key == "AUTH-12"
    assert [m.value for m in Metric.objects.filter(run=run, key="val_loss").order_by("step")] == [
        0.71,
        0.52,
        0.43,
        0.39,
    ]
    assert Artifact.objects.filter(run=run, path="model_card.md").exists()
