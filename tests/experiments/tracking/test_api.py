"""REST API for runs: /api/v1/projects/{KEY}/runs/ and /api/v1/runs/{id}/."""

from __future__ import annotations

import pytest

from experiments.models import LatestMetric, Param, Run, Tag
from tests.experiments.factories import RunFactory, log_history
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

READ = [(None, 401), ("outsider", 404), ("stakeholder", 200), ("engineer", 200), ("lead", 200)]
WRITE = [(None, 401), ("outsider", 404), ("stakeholder", 403), ("engineer", 200), ("lead", 200)]


@pytest.fixture
def run(cast):
    run = RunFactory(project=cast.project, started_by=cast.engineer, name="baseline")
    Param.objects.create(run=run, key="lr", value="0.1")
    Tag.objects.create(run=run, key="dataset", value="v2")
    log_history(run, "loss", [0.9, 0.5, float("nan")])
    log_history(run, "auc", [0.7, 0.8])
    return run


@pytest.mark.parametrize(("who", "status"), READ)
def test_run_list_role_matrix(api, cast, run, who, status):
    response = api(cast.user(who) if who else None).get("/api/v1/projects/AUTH/runs/")
    assert response.status_code == status
    if status == 200:
        (row,) = response.json()["results"]
        assert row["id"] == run.pk
        assert row["run_id"] == run.uuid
        assert row["params"] == {"lr": "0.1"}
        assert row["tags"] == {"dataset": "v2"}
        assert row["metrics"]["auc"] == {"value": 0.8, "step": 1, "timestamp": 1_700_000_000_001}
        assert row["metrics"]["loss"]["value"] == "NaN"
        assert row["started_by"] == "engineer"
        assert row["url"] == f"/p/AUTH/runs/{run.pk}/"


@pytest.mark.parametrize(("who", "status"), READ)
def test_run_detail_role_matrix(api, cast, run, who, status):
    client = api(cast.user(who) if who else None)
    by_number = client.get(f"/api/v1/runs/{run.pk}/")
    by_uuid = client.get(f"/api/v1/runs/{run.uuid}/")
    assert (by_number.status_code, by_uuid.status_code) == (status, status)
    if status == 200:
        assert by_number.json() == by_uuid.json()


@pytest.mark.parametrize(("who", "status"), WRITE)
def test_patch_role_matrix(api, cast, run, who, status):
    ticket = TicketFactory(project=cast.project)
    response = api(cast.user(who) if who else None).patch(
        f"/api/v1/runs/{run.pk}/", {"ticket": ticket.key, "notes": "promising", "name": "renamed"}, format="json"
    )
    assert response.status_code == status
    run.refresh_from_db()
    if status == 200:
        assert response.json()["ticket"] == ticket.key
        assert (run.ticket, run.notes, run.name) == (ticket, "promising", "renamed")
    else:
        assert (run.ticket, run.notes, run.name) == (None, "", "baseline")


def test_patch_detaches_with_null(api, cast, run):
    run.ticket = TicketFactory(project=cast.project)
    run.save()
    response = api(cast.engineer).patch(f"/api/v1/runs/{run.pk}/", {"ticket": None}, format="json")
    assert response.status_code == 200
    assert response.json()["ticket"] is None
    run.refresh_from_db()
    assert run.ticket is None


@pytest.mark.parametrize("key", ["AUTH-999", "OTHER-1", "nonsense"])
def test_patch_unknown_ticket_is_a_clear_400_and_changes_nothing(api, cast, run, key):
    response = api(cast.engineer).patch(f"/api/v1/runs/{run.pk}/", {"ticket": key, "notes": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("ticket:")
    run.refresh_from_db()
    assert (run.ticket, run.notes) == (None, "")


def test_list_filters(api, cast, run):
    ticket = TicketFactory(project=cast.project)
    attached = RunFactory(project=cast.project, ticket=ticket, status="failed", started_by=cast.lead)
    Tag.objects.create(run=attached, key="dataset", value="v3")
    client = api(cast.engineer)

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/v1/projects/AUTH/runs/?{query}")
        assert response.status_code == 200, response.content
        return {r["id"] for r in response.json()["results"]}

    assert ids(f"ticket={ticket.key}") == {attached.pk}
    assert ids("ticket=none") == {run.pk}
    assert ids("status=failed") == {attached.pk}
    assert ids("user=engineer") == {run.pk}
    assert ids("tag=dataset=v2") == {run.pk}
    assert ids("tag=dataset") == {run.pk, attached.pk}
    bad = client.get("/api/v1/projects/AUTH/runs/?ticket=AUTH-999")
    assert bad.status_code == 400 and "AUTH-999" in bad.json()["message"]
    assert client.get("/api/v1/projects/AUTH/runs/?status=done").status_code == 400


def test_list_query_count_is_constant(api, cast, django_assert_num_queries):
    ticket = TicketFactory(project=cast.project)
    for i in range(12):
        run = RunFactory(project=cast.project, ticket=ticket if i % 2 else None, started_by=cast.engineer)
        Param.objects.create(run=run, key="lr", value=str(i))
        Tag.objects.create(run=run, key="t", value="x")
        log_history(run, "loss", [1.0, 0.5])
    client = api(cast.engineer)
    # token + user, membership + project, count, runs page (with ticket and starter),
    # latest metrics, params, tags
    with django_assert_num_queries(7):
        response = client.get("/api/v1/projects/AUTH/runs/")
    assert response.json()["count"] == 12


def test_create_run_over_rest(api, cast):
    ticket = TicketFactory(project=cast.project)
    body = {
        "name": "hand-written rule",
        "ticket": ticket.key,
        "params": {"threshold": "0.5"},
        "tags": {"kind": "baseline"},
        "metrics": [{"key": "auc", "value": 0.71, "step": 0}, {"key": "auc", "value": 0.74, "step": 1}],
    }
    response = api(cast.engineer).post("/api/v1/projects/AUTH/runs/", body, format="json")
    assert response.status_code == 201, response.content
    run = Run.objects.get(pk=response.json()["id"])
    assert (run.ticket, run.status, run.name) == (ticket, "finished", "hand-written rule")
    assert LatestMetric.objects.get(run=run, key="auc").value == 0.74
    assert api(cast.stakeholder).post("/api/v1/projects/AUTH/runs/", body, format="json").status_code == 403


def test_create_run_with_bad_metric_creates_nothing(api, cast):
    body = {"name": "x", "metrics": [{"key": "bad key!", "value": 1}]}
    response = api(cast.engineer).post("/api/v1/projects/AUTH/runs/", body, format="json")
    assert response.status_code == 400
    assert "bad key!" in response.json()["message"]
    assert not Run.objects.exists()


def test_metric_history_endpoint(api, cast, run):
    response = api(cast.stakeholder).get(f"/api/v1/runs/{run.pk}/metrics/loss/")
    assert response.status_code == 200
    assert [p["value"] for p in response.json()] == [0.9, 0.5, "NaN"]
    assert api(cast.stakeholder).get(f"/api/v1/runs/{run.pk}/metrics/nope/").status_code == 404
    assert api(cast.outsider).get(f"/api/v1/runs/{run.pk}/metrics/loss/").status_code == 404


def test_runs_are_documented_in_the_schema(api, cast):
    schema = api(cast.engineer).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/projects/{key}/runs/" in schema["paths"]
    assert set(schema["paths"]["/api/v1/runs/{run_id}/"]) >= {"get", "patch"}
