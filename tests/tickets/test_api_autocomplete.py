"""GET /api/v1/projects/{KEY}/autocomplete/tickets/ and .../members/: pickers ask as the user types."""

from __future__ import annotations

import pytest

from tests.factories import MembershipFactory, ProjectFactory, TicketFactory, UserFactory
from tickets.models import Role, TicketStatus

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/projects/AUTH/autocomplete/tickets/"
MEMBERS = "/api/v1/projects/AUTH/autocomplete/members/"


def _ask(api, user, url, q=""):
    response = api(user).get(url, {"q": q})
    assert response.status_code == 200, response.content
    return response.json()["results"]


# --- Tickets ----------------------------------------------------------------------------
def test_words_of_the_title_find_tickets_open_first_then_newest(cast, api):
    done = TicketFactory(project=cast.project, title="Gyroscope baseline", status=TicketStatus.DONE)
    old = TicketFactory(project=cast.project, title="Gyroscope features")
    new = TicketFactory(project=cast.project, title="More gyroscope features")
    TicketFactory(project=cast.project, title="Threshold tuning")
    TicketFactory(project=ProjectFactory(key="SECRET"), title="Gyroscope secret")
    results = _ask(api, cast.engineer, TICKETS, "gyroscope")
    assert [r["key"] for r in results] == [new.key, old.key, done.key]
    assert [r["open"] for r in results] == [True, True, False]
    # Every word must match, in any case and order.
    assert [r["key"] for r in _ask(api, cast.engineer, TICKETS, "FEATURES gyro")] == [new.key, old.key]


def test_a_typed_key_or_number_puts_that_ticket_first(cast, api):
    tickets = [TicketFactory(project=cast.project, title=f"Study {n}") for n in range(1, 13)]
    twelve = tickets[11]
    one = tickets[0]
    assert twelve.key == "AUTH-12"
    assert _ask(api, cast.engineer, TICKETS, "AUTH-12")[0]["key"] == "AUTH-12"
    assert _ask(api, cast.engineer, TICKETS, "auth-12")[0]["key"] == "AUTH-12"
    assert _ask(api, cast.engineer, TICKETS, "#12")[0]["key"] == "AUTH-12"
    # A number typed so far is a prefix of the key: AUTH-1 first, then AUTH-12, AUTH-11, AUTH-10.
    assert [r["key"] for r in _ask(api, cast.engineer, TICKETS, "AUTH-1")] == [
        one.key, "AUTH-12", "AUTH-11", "AUTH-10",
    ]  # fmt: skip
    assert len(_ask(api, cast.engineer, TICKETS, "AUTH-")) == 12


def test_the_answer_has_what_a_form_needs(cast, api):
    ticket = TicketFactory(project=cast.project, title="<b>Bold</b> claim")
    (row,) = _ask(api, cast.stakeholder, TICKETS, ticket.key)
    assert row == {
        "id": ticket.pk, "key": ticket.key, "label": f"{ticket.key} · <b>Bold</b> claim", "title": "<b>Bold</b> claim",
        "status": ticket.status, "kind": ticket.kind, "open": True,
    }  # fmt: skip


def test_at_most_twenty_and_nothing_typed_lists_the_newest_open(cast, api):
    for n in range(25):
        TicketFactory(project=cast.project, title=f"Ticket {n}", status=TicketStatus.DONE if n == 24 else "todo")
    results = _ask(api, cast.engineer, TICKETS, "")
    assert len(results) == 20
    assert results[0]["key"] == "AUTH-24"  # the newest open one; AUTH-25 is done
    assert all(r["open"] for r in results)


@pytest.mark.parametrize("q", ["\x00", "'; drop table x; --", "%", "_", "AUTH-99999999999999999999", "💥", " " * 300])
def test_odd_input_finds_nothing_or_something_but_never_fails(cast, api, q):
    TicketFactory(project=cast.project, title="Plain")
    response = api(cast.engineer).get(TICKETS, {"q": q})
    assert response.status_code == 200
    assert len(response.json()["results"]) <= 20


# --- Members ----------------------------------------------------------------------------
def test_members_are_found_by_username_or_name(cast, api):
    ada = UserFactory(username="ada", first_name="Ada", last_name="Lovelace")
    MembershipFactory(project=cast.project, role=Role.ENGINEER, user=ada)
    MembershipFactory(project=ProjectFactory(key="ELSE"), user=UserFactory(username="adam"))
    assert [r["username"] for r in _ask(api, cast.engineer, MEMBERS, "love")] == ["ada"]
    found = [r["username"] for r in _ask(api, cast.engineer, MEMBERS, "ad")]
    assert "ada" in found and "adam" not in found  # adam is an outsider
    (row,) = _ask(api, cast.engineer, MEMBERS, "ada lovelace")
    assert row == {"id": ada.pk, "username": "ada", "full_name": "Ada Lovelace", "role": "engineer",
                   "label": "ada (Ada Lovelace)"}  # fmt: skip
    assert [r["username"] for r in _ask(api, cast.engineer, MEMBERS, "")] == ["ada", "engineer", "lead", "stakeholder"]


# --- Who may ask ------------------------------------------------------------------------
@pytest.mark.parametrize("url", [TICKETS, MEMBERS])
@pytest.mark.parametrize("who", ["lead", "engineer", "stakeholder"])
def test_every_member_may_ask(cast, api, url, who):
    TicketFactory(project=cast.project, title="Visible")
    assert _ask(api, cast.user(who), url)


@pytest.mark.parametrize("path", ["tickets", "members"])
@pytest.mark.parametrize("key", ["AUTH", "NOPE"])
def test_outsiders_get_the_same_404_and_anonymous_callers_401(cast, api, path, key):
    TicketFactory(project=cast.project, title="Hidden")
    url = f"/api/v1/projects/{key}/autocomplete/{path}/"
    outsider = api(cast.outsider).get(url, {"q": "Hidden"})
    assert outsider.status_code == 404
    assert "Hidden" not in outsider.content.decode()
    assert api(None).get(url, {"q": "Hidden"}).status_code == 401


def test_the_session_of_a_logged_in_page_is_enough(cast, web):
    """The pickers in pages ask with the browser's session, not a token."""
    TicketFactory(project=cast.project, title="From a page")
    response = web(cast.stakeholder).get(TICKETS, {"q": "page"})
    assert response.status_code == 200
    assert response.json()["results"][0]["title"] == "From a page"
    assert web(cast.outsider).get(TICKETS).status_code == 404


# --- Cost -------------------------------------------------------------------------------
@pytest.mark.parametrize(("url", "q"), [(TICKETS, "study"), (MEMBERS, "user")])
def test_the_query_count_does_not_grow_with_the_project(cast, api, django_assert_num_queries, url, q):
    client = api(cast.engineer)

    def grow(n):
        for _ in range(n):
            TicketFactory(project=cast.project, title="A study")
            MembershipFactory(project=cast.project, role=Role.ENGINEER, user=UserFactory())

    grow(5)
    # 1 token and user, 2 membership + project, 3 the matches
    with django_assert_num_queries(3):
        few = client.get(url, {"q": q})
    grow(55)
    with django_assert_num_queries(3):
        many = client.get(url, {"q": q})
    assert len(few.json()["results"]) >= 5
    assert len(many.json()["results"]) == 20


# --- Schema -----------------------------------------------------------------------------
def test_the_endpoints_are_in_the_schema_with_their_errors():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for kind in ("tickets", "runs", "members"):
        operation = paths[f"/api/v1/projects/{{key}}/autocomplete/{kind}/"]["get"]
        assert {"200", "401", "404"} <= set(operation["responses"]), kind
        assert "q" in {p["name"] for p in operation["parameters"]}, kind
