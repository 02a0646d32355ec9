"""/api/v1/notifications/ — the caller's own notifications only; someone else's id is not found."""

from __future__ import annotations

import pytest

from tests.factories import TicketFactory
from tickets import services

LIST = "/api/v1/notifications/"


@pytest.fixture
def mentioned(cast):
    """Each member but the engineer mentioned once by the engineer."""
    ticket = TicketFactory(project=cast.project, title="Tune it")
    services.comment_create(ticket=ticket, author=cast.engineer, body="@lead @stakeholder look")
    return ticket


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["lead", "stakeholder"])
def test_members_list_their_own(cast, api, mentioned, who):
    body = api(cast.user(who)).get(LIST).json()
    assert body["count"] == 1
    (row,) = body["results"]
    assert row["kind"] == "mentioned" and row["actor"] == "engineer" and row["ticket"] == mentioned.key
    assert row["project"] == "AUTH" and row["url"] == f"/t/{mentioned.key}/" and row["read"] is False


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["engineer", "outsider"])
def test_others_see_none_of_them(cast, api, mentioned, who):
    assert api(cast.user(who)).get(LIST).json()["count"] == 0


@pytest.mark.django_db
def test_anonymous_callers_are_refused(api, mentioned):
    assert api(None).get(LIST).status_code == 401


@pytest.mark.django_db
def test_marking_one_read(cast, api, mentioned):
    client = api(cast.lead)
    (row,) = client.get(LIST).json()["results"]
    response = client.post(f"/api/v1/notifications/{row['id']}/read/")
    assert response.status_code == 200 and response.json()["read"] is True
    assert client.get(LIST, {"unread": "1"}).json()["count"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["engineer", "stakeholder", "outsider"])
def test_someone_elses_notification_is_not_found(cast, api, mentioned, who):
    (row,) = api(cast.lead).get(LIST).json()["results"]
    theirs = api(cast.user(who)).post(f"/api/v1/notifications/{row['id']}/read/")
    missing = api(cast.user(who)).post("/api/v1/notifications/999999/read/")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert api(cast.lead).get(LIST, {"unread": "1"}).json()["count"] == 1


@pytest.mark.django_db
def test_marking_all_read_touches_only_the_callers(cast, api, mentioned):
    response = api(cast.lead).post("/api/v1/notifications/read-all/")
    assert response.json() == {"marked": 1, "unread": 0}
    assert api(cast.stakeholder).get(LIST, {"unread": "1"}).json()["count"] == 1


@pytest.mark.django_db
def test_the_list_costs_the_same_queries_for_more_rows(cast, api, django_assert_num_queries):
    client = api(cast.lead)
    for n in range(3):
        services.comment_create(ticket=TicketFactory(project=cast.project), author=cast.engineer, body=f"@lead {n}")
    # token, count, the page with project, actor and ticket joined
    with django_assert_num_queries(3):
        assert client.get(LIST).json()["count"] == 3
    for n in range(12):
        services.comment_create(ticket=TicketFactory(project=cast.project), author=cast.engineer, body=f"@lead {n}")
    with django_assert_num_queries(3):
        assert client.get(LIST).json()["count"] == 15
