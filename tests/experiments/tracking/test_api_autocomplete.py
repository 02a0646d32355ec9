"""GET /api/v1/projects/{KEY}/autocomplete/runs/: the run pickers ask as the user types."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.experiments.factories import RunFactory
from tests.factories import ProjectFactory, TicketFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/projects/AUTH/autocomplete/runs/"


def _ask(api, user, q=""):
    response = api(user).get(URL, {"q": q})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_words_of_the_name_find_runs_newest_first(cast, api):
    older = RunFactory(project=cast.project, name="xgb-gyroscope")
    newer = RunFactory(project=cast.project, name="mlp-gyroscope")
    RunFactory(project=cast.project, name="baseline")
    RunFactory(project=ProjectFactory(key="ELSE"), name="gyroscope-elsewhere")
    assert [r["id"] for r in _ask(api, cast.engineer, "gyro")] == [newer.pk, older.pk]
    assert [r["id"] for r in _ask(api, cast.engineer, "GYRO mlp")] == [newer.pk]


def test_a_typed_id_puts_that_run_first(cast, api):
    runs = [RunFactory(project=cast.project, name=f"run {n}") for n in range(3)]
    target = runs[0]
    assert _ask(api, cast.engineer, str(target.pk))[0]["id"] == target.pk
    assert _ask(api, cast.engineer, f"#{target.pk}")[0]["id"] == target.pk
    assert _ask(api, cast.engineer, target.uuid[:8])[0]["id"] == target.pk


def test_deleted_runs_are_not_offered(cast, api):
    RunFactory(project=cast.project, name="gone", deleted_at=timezone.now())
    assert _ask(api, cast.engineer, "gone") == []


def test_the_answer_has_what_a_form_needs(cast, api):
    ticket = TicketFactory(project=cast.project, title="Beat the baseline")
    run = RunFactory(project=cast.project, name="<i>sgd</i>", ticket=ticket)
    (row,) = _ask(api, cast.stakeholder, "sgd")
    assert row["id"] == run.pk
    assert row["label"] == f"#{run.pk} <i>sgd</i> (on {ticket.key})"
    assert row["ticket"] == ticket.key
    assert row["name"] == "<i>sgd</i>"
    assert row["status"] == run.status


@pytest.mark.parametrize("q", ["\x00", "%", "99999999999999999999", "#", "💥"])
def test_odd_input_never_fails(cast, api, q):
    RunFactory(project=cast.project, name="plain")
    response = api(cast.engineer).get(URL, {"q": q})
    assert response.status_code == 200


@pytest.mark.parametrize("who", ["lead", "engineer", "stakeholder"])
def test_every_member_may_ask(cast, api, who):
    RunFactory(project=cast.project, name="visible")
    assert [r["name"] for r in _ask(api, cast.user(who))] == ["visible"]


@pytest.mark.parametrize("key", ["AUTH", "NOPE"])
def test_outsiders_get_the_same_404_and_anonymous_callers_401(cast, api, key):
    RunFactory(project=cast.project, name="hidden")
    url = f"/api/v1/projects/{key}/autocomplete/runs/"
    outsider = api(cast.outsider).get(url, {"q": "hidden"})
    assert outsider.status_code == 404
    assert "hidden" not in outsider.content.decode()
    assert api(None).get(url, {"q": "hidden"}).status_code == 401


def test_the_query_count_does_not_grow_with_the_project(cast, api, django_assert_num_queries):
    ticket = TicketFactory(project=cast.project)
    client = api(cast.engineer)
    for _ in range(5):
        RunFactory(project=cast.project, name="trial", ticket=ticket)
    # 1 token and user, 2 membership + project, 3 the matches with their tickets
    with django_assert_num_queries(3):
        few = client.get(URL, {"q": "trial"})
    for _ in range(55):
        RunFactory(project=cast.project, name="trial", ticket=ticket)
    with django_assert_num_queries(3):
        many = client.get(URL, {"q": "trial"})
    assert len(few.json()["results"]) == 5
    assert len(many.json()["results"]) == 20
    assert many.json()["results"][0]["ticket"] == ticket.key
