"""Run services: validation before any write, params that never change, latest values."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError

from experiments.models import Artifact, LatestMetric, Metric, Param, Tag
from experiments.tracking import services
from tests.experiments.factories import RunFactory
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def point(key, value, step=0, timestamp=1):
    return services.MetricPoint(key=key, value=value, step=step, timestamp=timestamp)


def test_run_create_validates_before_writing(cast):
    with pytest.raises(ValidationError, match="AUTH-5"):
        services.run_create(project=cast.project, user=cast.engineer, tags=[("agileml.ticket", "AUTH-5")])
    with pytest.raises(ValidationError, match=r"bad/\.\./key"):
        services.run_create(project=cast.project, user=cast.engineer, params=[("bad/../key", "1")])
    assert not cast.project.runs.exists()


def test_run_create_gets_a_readable_default_name(cast):
    run = services.run_create(project=cast.project, user=cast.engineer)
    assert run.name == services.default_run_name(run.uuid)
    assert run.name.count("-") == 2


def test_params_never_change(cast):
    run = RunFactory(project=cast.project)
    services.run_log(run=run, params=[("lr", "0.1")])
    services.run_log(run=run, params=[("lr", "0.1")])
    with pytest.raises(ValidationError, match="Changing param values is not allowed"):
        services.run_log(run=run, params=[("lr", "0.2")], metrics=[point("loss", 1.0)])
    assert list(Param.objects.filter(run=run).values_list("value", flat=True)) == ["0.1"]
    assert not Metric.objects.exists()


def test_duplicate_param_with_two_values_in_one_batch(cast):
    run = RunFactory(project=cast.project)
    with pytest.raises(ValidationError, match="appears twice"):
        services.run_log(run=run, params=[("lr", "1"), ("lr", "2")])


def test_latest_keeps_the_highest_step_across_batches(cast):
    run = RunFactory(project=cast.project)
    services.run_log(run=run, metrics=[point("loss", 0.5, step=3), point("loss", 0.7, step=1)])
    services.run_log(run=run, metrics=[point("loss", 0.9, step=2)])
    latest = LatestMetric.objects.get(run=run, key="loss")
    assert (latest.step, latest.value, latest.project_id) == (3, 0.5, cast.project.pk)
    services.run_log(run=run, metrics=[point("loss", 0.4, step=3, timestamp=2)])
    assert LatestMetric.objects.get(run=run, key="loss").value == 0.4


def test_tags_overwrite_and_field_tags_set_fields(cast):
    ticket = TicketFactory(project=cast.project)
    run = RunFactory(project=cast.project)
    services.run_log(run=run, tags=[("stage", "a"), ("mlflow.runName", "renamed"), ("agileml.ticket", ticket.key)])
    services.run_log(run=run, tags=[("stage", "b")])
    run.refresh_from_db()
    assert (run.name, run.ticket) == ("renamed", ticket)
    assert dict(Tag.objects.filter(run=run).values_list("key", "value")) == {"stage": "b"}
    services.run_delete_tag(run=run, key="agileml.ticket")
    run.refresh_from_db()
    assert run.ticket is None


def test_run_update_ends_the_run(cast):
    run = RunFactory(project=cast.project, status="running", end_time=None)
    services.run_update(run=run, status="failed")
    run.refresh_from_db()
    assert run.status == "failed" and run.end_time is not None


def test_artifact_replaced_in_place(cast, media):
    run = RunFactory(project=cast.project)
    services.artifact_save(run=run, path="model.txt", stream=io.BytesIO(b"v1"))
    services.artifact_save(run=run, path="model.txt", stream=io.BytesIO(b"version 2"))
    assert Artifact.objects.get(run=run).size == 9
    assert services.artifact_file(run, "model.txt").read_bytes() == b"version 2"
    leftovers = [p.name for p in services.artifact_root(run).iterdir()]
    assert leftovers == ["model.txt"]


def test_artifact_too_big_leaves_no_file(cast, media, settings):
    settings.ARTIFACT_MAX_BYTES = 10
    run = RunFactory(project=cast.project)
    with pytest.raises(ValidationError, match="larger than the limit"):
        services.artifact_save(run=run, path="big.bin", stream=io.BytesIO(b"x" * 11), chunk_size=4)
    assert not Artifact.objects.exists()
    assert list(services.artifact_root(run).iterdir()) == []


def _run_events(ticket) -> list[tuple[str | None, str | None, str]]:
    from tickets.models import TicketEvent

    rows = TicketEvent.objects.filter(ticket=ticket, field=TicketEvent.Field.RUN).order_by("id")
    return [(e.old, e.new, e.actor.username) for e in rows.select_related("actor")]


def test_attaching_and_detaching_runs_is_ticket_history(cast):
    first = TicketFactory(project=cast.project)
    second = TicketFactory(project=cast.project)
    run = services.run_create(project=cast.project, user=cast.engineer, name="gbm", ticket_key=first.key)
    assert _run_events(first) == [(None, "gbm", "engineer")]

    services.run_attach_ticket(run=run, ticket_key=second.key, actor=cast.lead)
    assert _run_events(first) == [(None, "gbm", "engineer"), ("gbm", None, "lead")]
    assert _run_events(second) == [(None, "gbm", "lead")]

    # Through the MLflow tag, and setting the same ticket again records nothing new.
    services.run_log(run=run, tags=[("agileml.ticket", second.key)], actor=cast.engineer)
    assert len(_run_events(second)) == 1
    services.run_delete_tag(run=run, key="agileml.ticket", actor=cast.engineer)
    assert _run_events(second)[-1] == ("gbm", None, "engineer")


def test_the_ticket_timeline_shows_run_links(web, cast):
    ticket = TicketFactory(project=cast.project)
    run = services.run_create(project=cast.project, user=cast.engineer, name="gbm-typing", ticket_key=ticket.key)
    services.run_attach_ticket(run=run, ticket_key=None, actor=cast.lead)
    html = web(cast.stakeholder).get(f"/t/{ticket.key}/").content.decode()
    assert "attached the run <strong>gbm-typing</strong>" in html
    assert "detached the run <strong>gbm-typing</strong>" in html
