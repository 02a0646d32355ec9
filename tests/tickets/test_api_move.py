import pytest

from tests.tickets.conftest import lead_only, order_of
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db
MOVE = "/api/v1/projects/AUTH/tickets/move/"


@pytest.mark.parametrize(("who", "status"), lead_only(200))
def test_move_role_matrix(api, cast, scene, who, status):
    response = api(cast.user(who) if who else None).post(
        MOVE, {"tickets": ["AUTH-3"], "sprint": scene.active.pk, "before": "AUTH-2"}, format="json"
    )
    assert response.status_code == status
    expected = ["AUTH-1", "AUTH-3", "AUTH-2"] if status == 200 else ["AUTH-1", "AUTH-2"]
    assert order_of(cast.project, scene.active) == expected
    if status == 200:
        assert response.json() == {
            "tickets": [{"key": "AUTH-3", "sprint": scene.active.pk, "rank": response.json()["tickets"][0]["rank"]}]
        }


def test_bulk_move_back_to_the_backlog_after_a_ticket(api, cast, scene):
    response = api(cast.lead).post(
        MOVE, {"tickets": ["AUTH-2", "AUTH-5", "AUTH-1"], "sprint": None, "after": "AUTH-3"}, format="json"
    )
    assert response.status_code == 200
    assert order_of(cast.project) == ["AUTH-3", "AUTH-2", "AUTH-5", "AUTH-1", "AUTH-4"]
    moves = TicketEvent.objects.filter(field="sprint").values_list("ticket__number", "old", "new")
    assert sorted(moves) == [(1, scene.active.pk, None), (2, scene.active.pk, None), (5, scene.planned.pk, None)]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"tickets": ["AUTH-3"]}, "sprint: This field is required."),
        ({"sprint": None}, "tickets: This field is required."),
        ({"tickets": "AUTH-3", "sprint": None}, 'tickets: Expected a list of items but got type "str".'),
        ({"tickets": [], "sprint": None}, "tickets: Name at least one ticket to move."),
        (
            {"tickets": ["AUTH-3"], "sprint": None, "before": "AUTH-1"},
            "before: AUTH-1 is in Now, not in the backlog; reload to see the current plan.",
        ),
        ({"tickets": ["AUTH-3"], "sprint": 999}, "sprint: There is no sprint 999 in AUTH."),
        ({"tickets": ["AUTH-3", "OTHER-1"], "sprint": None}, "tickets: OTHER-1 is not a ticket of AUTH."),
        ({"tickets": ["AUTH-3"], "sprint": "next"}, "sprint: A valid integer is required."),
    ],
)
def test_bad_moves_are_explained_and_change_nothing(api, cast, scene, payload, message):
    before = (order_of(cast.project), order_of(cast.project, scene.active), order_of(cast.project, scene.planned))
    response = api(cast.lead).post(MOVE, payload, format="json")
    assert (response.status_code, response.json()["message"]) == (400, message)
    after = (order_of(cast.project), order_of(cast.project, scene.active), order_of(cast.project, scene.planned))
    assert after == before


def test_the_move_endpoint_costs_the_same_for_50_tickets_as_for_2(api, cast, scene, make_ticket):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    keys = [make_ticket(f"T{n}").key for n in range(52)]
    client = api(cast.lead)
    with CaptureQueriesContext(connection) as few:
        assert client.post(MOVE, {"tickets": keys[:2], "sprint": scene.planned.pk}, format="json").status_code == 200
    with CaptureQueriesContext(connection) as many:
        assert client.post(MOVE, {"tickets": keys[2:], "sprint": scene.planned.pk}, format="json").status_code == 200
    # token + user, membership with project, then the move: savepoint, project lock, tickets (locked),
    # sprint, neighbour rank, bulk update, the project's content version (once), bulk insert of events,
    # release savepoint.
    assert len(few) == len(many) == 11, [q["sql"][:80] for q in many.captured_queries]
    assert order_of(cast.project, scene.planned) == ["AUTH-5", *keys]
