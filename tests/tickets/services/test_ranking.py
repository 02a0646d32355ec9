import itertools

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.tickets.conftest import force_status, order_of
from tickets import services
from tickets.models import Ticket, TicketEvent, TicketStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def five(make_ticket):
    return [make_ticket(f"T{i}").key for i in range(1, 6)]


def move(cast, keys, sprint=None, **anchor):
    return services.tickets_move(
        project=cast.project, actor=cast.lead, keys=keys, sprint_id=sprint.pk if sprint else None, **anchor
    )


def test_move_before_and_after_within_the_backlog(cast, five):
    move(cast, ["AUTH-5"], before="AUTH-1")
    assert order_of(cast.project) == ["AUTH-5", "AUTH-1", "AUTH-2", "AUTH-3", "AUTH-4"]
    move(cast, ["AUTH-5"], after="AUTH-3")
    assert order_of(cast.project) == ["AUTH-1", "AUTH-2", "AUTH-3", "AUTH-5", "AUTH-4"]
    move(cast, ["AUTH-1"])
    assert order_of(cast.project) == ["AUTH-2", "AUTH-3", "AUTH-5", "AUTH-4", "AUTH-1"]
    # Reranking inside one list is not history.
    assert not TicketEvent.objects.filter(field="sprint").exists()


def test_bulk_move_into_a_sprint_keeps_the_given_order_and_records_each(cast, five, make_sprint, make_ticket):
    sprint = make_sprint()
    anchor = make_ticket("In sprint", sprint=sprint)
    move(cast, ["AUTH-4", "AUTH-2", "AUTH-3"], sprint, before=anchor.key)
    assert order_of(cast.project, sprint) == ["AUTH-4", "AUTH-2", "AUTH-3", anchor.key]
    assert order_of(cast.project) == ["AUTH-1", "AUTH-5"]
    events = TicketEvent.objects.filter(field="sprint").order_by("ticket__number")
    assert [(e.ticket.key, e.old, e.new, e.actor) for e in events] == [
        ("AUTH-2", None, sprint.pk, cast.lead),
        ("AUTH-3", None, sprint.pk, cast.lead),
        ("AUTH-4", None, sprint.pk, cast.lead),
    ]


def test_moves_between_sprints_and_back_to_the_backlog(cast, five, make_sprint):
    first, second = make_sprint(), make_sprint()
    move(cast, ["AUTH-1", "AUTH-2"], first)
    move(cast, ["AUTH-2"], second)
    move(cast, ["AUTH-1"], None, before="AUTH-3")
    assert order_of(cast.project) == ["AUTH-1", "AUTH-3", "AUTH-4", "AUTH-5"]
    assert order_of(cast.project, second) == ["AUTH-2"]
    history = list(TicketEvent.objects.filter(field="sprint").values_list("ticket__number", "old", "new"))
    assert history == [(1, None, first.pk), (2, None, first.pk), (2, first.pk, second.pk), (1, first.pk, None)]


def test_moving_to_an_empty_sprint_puts_tickets_in_order(cast, five, make_sprint):
    sprint = make_sprint()
    move(cast, ["AUTH-3", "AUTH-1"], sprint)
    assert order_of(cast.project, sprint) == ["AUTH-3", "AUTH-1"]


def test_running_out_of_gaps_renumbers_without_changing_any_order(cast, five, make_sprint):
    sprint = make_sprint()
    move(cast, ["AUTH-4", "AUTH-5"], sprint)
    # Squeeze the backlog so no integer fits between neighbours.
    for rank, key in enumerate(["AUTH-1", "AUTH-2", "AUTH-3"], start=10):
        Ticket.objects.filter(project=cast.project, number=int(key[5:])).update(rank=rank)
    move(cast, ["AUTH-5"], None, after="AUTH-1")
    assert order_of(cast.project) == ["AUTH-1", "AUTH-5", "AUTH-2", "AUTH-3"]
    assert order_of(cast.project, sprint) == ["AUTH-4"]
    ranks = list(Ticket.objects.order_by("rank").values_list("rank", flat=True))
    assert len(set(ranks)) == 5 and min(b - a for a, b in itertools.pairwise(ranks)) > 1000


def test_many_moves_into_the_same_slot_stay_ordered(cast, five):
    # Always insert right after AUTH-1: each move halves the gap until a rebalance.
    for key in ["AUTH-5", "AUTH-4", "AUTH-3", "AUTH-2"] * 10:
        move(cast, [key], after="AUTH-1")
    assert order_of(cast.project) == ["AUTH-1", "AUTH-2", "AUTH-3", "AUTH-4", "AUTH-5"]


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"keys": []}, "tickets", "Name at least one ticket to move."),
        ({"keys": ["AUTH-1", "AUTH-1"]}, "tickets", "AUTH-1 is listed twice."),
        ({"keys": ["AUTH-99"]}, "tickets", "There is no ticket AUTH-99."),
        ({"keys": ["OTHER-1"]}, "tickets", "OTHER-1 is not a ticket of AUTH."),
        ({"keys": ["twelve"]}, "tickets", "'twelve' is not a ticket key; keys look like AUTH-12."),
        (
            {"keys": ["AUTH-1"], "before": "AUTH-2", "after": "AUTH-3"},
            "before",
            "Give either before or after, not both.",
        ),
        ({"keys": ["AUTH-1"], "before": "AUTH-1"}, "before", "AUTH-1 is one of the tickets being moved."),
        ({"keys": ["AUTH-1"], "after": "AUTH-77"}, "after", "There is no ticket AUTH-77."),
        ({"keys": ["AUTH-1"], "sprint_id": 999}, "sprint", "There is no sprint 999 in AUTH."),
    ],
)
def test_bad_moves_are_named_and_change_nothing(cast, five, kwargs, field, message):
    kwargs.setdefault("sprint_id", None)
    with pytest.raises(ValidationError) as error:
        services.tickets_move(project=cast.project, actor=cast.lead, **kwargs)
    assert error.value.message_dict == {field: [message]}
    assert order_of(cast.project) == five


def test_the_anchor_must_be_in_the_destination(cast, five, make_sprint):
    sprint = make_sprint(name="Sprint A")
    with pytest.raises(ValidationError) as error:
        move(cast, ["AUTH-1"], sprint, before="AUTH-2")
    assert error.value.message_dict == {
        "before": ["AUTH-2 is in the backlog, not in Sprint A; reload to see the current plan."]
    }
    assert order_of(cast.project, sprint) == []


def test_closed_sprints_are_frozen_both_ways(cast, make_ticket, make_sprint):
    sprint = make_sprint(state="active")
    done = force_status(make_ticket(sprint=sprint), TicketStatus.DONE)
    loose = make_ticket()
    services.sprint_close(sprint=sprint, actor=cast.lead, carry_over_to=None)
    with pytest.raises(ValidationError, match="Sprint 1 is closed; closed sprints are frozen"):
        move(cast, [loose.key], sprint)
    with pytest.raises(ValidationError, match=f"{done.key} belongs to the closed sprint Sprint 1"):
        move(cast, [done.key], None)


def test_moving_many_tickets_costs_the_same_queries_as_moving_a_few(cast, make_ticket, make_sprint):
    sprint = make_sprint()
    anchor = make_ticket("anchor", sprint=sprint)
    keys = [make_ticket(f"T{i}").key for i in range(50)]
    with CaptureQueriesContext(connection) as few:
        move(cast, keys[:2], sprint, before=anchor.key)
    with CaptureQueriesContext(connection) as many:
        move(cast, keys[2:], sprint, before=anchor.key)
    # savepoint, lock project, tickets+anchor (locked), sprint, anchor rank, neighbour rank,
    # bulk update of ranks and sprints, the project's content version (once), bulk insert of events,
    # release savepoint.
    assert len(few) == len(many) == 10, [q["sql"] for q in many.captured_queries]
    assert order_of(cast.project, sprint) == [*keys, anchor.key]
    assert TicketEvent.objects.filter(field="sprint", new=sprint.pk).count() == 50
