"""Copying runs from a real MLflow server: params, metric histories, tags, artifacts, status and
times; twice changes nothing; an interrupted import continues."""

from __future__ import annotations

import time
import uuid

import pytest
from django.core.management import CommandError, call_command

from experiments.tracking.models import Artifact, ImportedRun, LatestMetric, Metric, Param, Run, Tag
from experiments.tracking.services.artifacts import artifact_file
from tests.experiments.tracking.reference_mlflow import reference_mlflow  # noqa: F401 - a fixture
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(reference_mlflow, monkeypatch, tmp_path):  # noqa: F811
    """A fresh experiment on the reference server and a client to fill it."""
    from mlflow.entities import Metric as MlflowMetric
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    client = MlflowClient(tracking_uri=reference_mlflow)
    name = f"typing-{uuid.uuid4().hex[:8]}"
    experiment_id = client.create_experiment(name)

    def add_run(run_name: str, *, ticket: str | None = None, steps: int = 5, finish: bool = True) -> str:
        tags = {"team": "auth", "mlflow.runName": run_name}
        if ticket:
            tags["agileml.ticket"] = ticket
        run = client.create_run(experiment_id, tags=tags, run_name=run_name)
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        client.log_batch(
            run_id,
            metrics=[MlflowMetric("loss", 1.0 / (s + 1), now + s, s) for s in range(steps)]
            + [MlflowMetric("auc", 0.5 + s / 100, now + s, s) for s in range(steps)],
            params=[],
        )
        client.log_param(run_id, "learning_rate", "0.01")
        client.log_param(run_id, "model", "gbm")
        (tmp_path / run_name).mkdir()
        weights = tmp_path / run_name / "weights.txt"
        weights.write_text(f"weights of {run_name}\n" * 100)
        client.log_artifact(run_id, str(weights), artifact_path="model")
        notes = tmp_path / run_name / "notes.md"
        notes.write_text("# Notes\n")
        client.log_artifact(run_id, str(notes))
        if finish:
            client.set_terminated(run_id, "FINISHED")
        return run_id

    return reference_mlflow, name, client, add_run


def _import(uri: str, name: str, *args: str) -> None:
    call_command("import_mlflow", "--tracking-uri", uri, "--experiment", name, "--project", "AUTH", *args)


def _rows():
    return (
        Run.objects.count(),
        Param.objects.count(),
        Tag.objects.count(),
        Metric.objects.count(),
        sorted(Artifact.objects.values_list("path", "size")),
        sorted(Run.objects.values_list("uuid", "status", "end_time", "ticket_id")),
    )


def test_it_copies_runs_and_a_second_import_changes_nothing(cast, media, source, capsys):
    uri, name, client, add_run = source
    ticket = TicketFactory(project=cast.project)
    first = add_run("baseline", ticket=ticket.key, steps=5)
    second = add_run("no-such-ticket", ticket="AUTH-999", steps=3)
    _import(uri, name, "--user", "engineer")
    out = capsys.readouterr()
    assert "runs: 2 created, 0 resumed, 0 updated, 0 unchanged" in out.out
    assert "AUTH-999" in out.out and "imported unattached" in out.out
    assert "2/2 runs (100%)" in out.err  # progress on stderr

    run = ImportedRun.objects.get(source_run_id=first).run
    source_run = client.get_run(first)
    assert run.project == cast.project and run.ticket == ticket and run.name == "baseline"
    assert run.started_by == cast.engineer
    assert run.status == "finished"
    assert int(run.start_time.timestamp() * 1000) == source_run.info.start_time
    assert int(run.end_time.timestamp() * 1000) == source_run.info.end_time
    assert dict(run.params.values_list("key", "value")) == {"learning_rate": "0.01", "model": "gbm"}
    assert dict(run.tags.values_list("key", "value"))["team"] == "auth"
    history = list(run.metric_points.filter(key="loss").order_by("step").values_list("step", "value"))
    assert history == [(s, 1.0 / (s + 1)) for s in range(5)]
    assert LatestMetric.objects.get(run=run, key="auc").step == 4
    assert sorted(run.artifacts.values_list("path", flat=True)) == ["model/weights.txt", "notes.md"]
    assert artifact_file(run, "model/weights.txt").read_text() == "weights of baseline\n" * 100
    assert ticket.events.filter(field="run", new="baseline").exists()

    unattached = ImportedRun.objects.get(source_run_id=second).run
    assert unattached.ticket is None and unattached.metric_points.filter(key="loss").count() == 3

    before = _rows()
    _import(uri, name)
    assert "runs: 0 created, 0 resumed, 0 updated, 2 unchanged" in capsys.readouterr().out
    assert _rows() == before


def test_an_interrupted_import_continues_where_it_stopped(cast, media, source, capsys):
    uri, name, _, add_run = source
    ids = [add_run(f"run-{i}") for i in range(3)]
    _import(uri, name, "--limit", "2", "--no-progress")
    assert "runs: 2 created" in capsys.readouterr().out
    # The process died while copying the second run's artifacts: its data is in, its files are not.
    link = ImportedRun.objects.get(source_run_id=ids[1])
    ImportedRun.objects.filter(pk=link.pk).update(complete=False)
    Artifact.objects.filter(run=link.run).delete()
    artifact_file(link.run, "model/weights.txt").unlink()
    points = Metric.objects.count()

    _import(uri, name, "--no-progress")
    assert "runs: 1 created, 1 resumed, 0 updated, 1 unchanged" in capsys.readouterr().out
    assert Run.objects.count() == 3
    assert sorted(Artifact.objects.filter(run=link.run).values_list("path", flat=True)) == [
        "model/weights.txt",
        "notes.md",
    ]
    assert artifact_file(link.run, "model/weights.txt").read_text() == "weights of run-1\n" * 100
    assert Metric.objects.count() == points + 10  # only the new run's points; no duplicates
    assert ImportedRun.objects.filter(complete=True).count() == 3


def test_a_run_that_finished_since_is_updated(cast, media, source, capsys):
    uri, name, client, add_run = source
    run_id = add_run("still-training", finish=False)
    _import(uri, name, "--no-progress")
    run = ImportedRun.objects.get(source_run_id=run_id).run
    assert run.status == "running" and run.end_time is None
    client.log_metric(run_id, "loss", 0.01, step=99)
    client.set_terminated(run_id, "FAILED")
    _import(uri, name, "--no-progress")
    assert "runs: 0 created, 0 resumed, 1 updated, 0 unchanged" in capsys.readouterr().out
    run.refresh_from_db()
    assert run.status == "failed" and run.end_time is not None
    assert LatestMetric.objects.get(run=run, key="loss").step == 99


def test_bad_arguments_get_clear_messages(cast, source):
    uri, _, _, _ = source
    with pytest.raises(CommandError, match="There is no experiment 'nope' at"):
        _import(uri, "nope")
    with pytest.raises(CommandError, match="There is no project 'NOPE'"):
        call_command("import_mlflow", "--tracking-uri", uri, "--experiment", "x", "--project", "NOPE")
    assert not Run.objects.exists()


def test_a_server_that_does_not_answer_gets_a_clear_message(cast, monkeypatch):
    import socket

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    with pytest.raises(CommandError, match=f"http://127.0.0.1:{port} did not answer as an MLflow server"):
        _import(f"http://127.0.0.1:{port}/", "typing")
    assert not Run.objects.exists()


def test_an_import_stopped_by_the_user_continues_on_the_next_run(cast, media, source):
    from experiments.tracking.services.mlflow_import import mlflow_import

    uri, name, _, add_run = source
    for i in range(3):
        add_run(f"run-{i}", steps=2)

    def stop_after_first(outcome: str) -> None:
        raise KeyboardInterrupt  # Ctrl-C once the first run is in

    with pytest.raises(KeyboardInterrupt):
        mlflow_import(project=cast.project, tracking_uri=uri, experiment_name=name, on_run=stop_after_first)
    assert ImportedRun.objects.filter(complete=True).count() == 1
    report = mlflow_import(project=cast.project, tracking_uri=uri, experiment_name=name)
    assert (report.runs["created"], report.runs["unchanged"]) == (2, 1)
    assert Run.objects.count() == 3 and Artifact.objects.count() == 6
