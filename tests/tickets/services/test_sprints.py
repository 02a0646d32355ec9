import datetime

import pytest
from django.core.exceptions import ValidationError

from tests.factories import ProjectFactory, SprintFactory
from tests.tickets.conftest import force_status, order_of
from tickets import services
from tickets.models import Sprint, SprintState, Ticket, TicketEvent, TicketStatus

pytestmark = pytest.mark.django_db
S = TicketStatus


def test_starting_records_what_was_committed(cast, make_sprint, make_ticket):
    sprint = make_sprint()
    make_ticket("a", sprint=sprint)
    make_ticket("b", sprint=sprint)
    make_ticket("c")
    started = services.sprint_start(sprint=sprint, actor=cast.lead)
    assert started.state == SprintState.ACTIVE and started.started_at is not None
    assert started.committed == ["AUTH-1", "AUTH-2"]


def test_one_active_sprint_at_a_time(cast, make_sprint):
    make_sprint(name="Now", state="active")
    later = make_sprint(name="Later")
    with pytest.raises(ValidationError) as error:
        services.sprint_start(sprint=later, actor=cast.lead)
    assert error.value.message_dict == {"state": ["Now is still active; close it before starting Later."]}
    assert Sprint.objects.get(pk=later.pk).state == SprintState.PLANNED


def test_only_planned_sprints_start_and_only_active_ones_close(cast, make_sprint):
    active = make_sprint(state="active")
    with pytest.raises(ValidationError, match="only a planned sprint can start"):
        services.sprint_start(sprint=active, actor=cast.lead)
    planned = make_sprint()
    with pytest.raises(ValidationError, match="only the active sprint can be closed"):
        services.sprint_close(sprint=planned, actor=cast.lead, carry_over_to=None)


def test_closing_carries_unfinished_work_over_and_freezes_a_snapshot(cast, make_sprint, make_ticket):
    sprint, nxt = make_sprint(name="S1"), make_sprint(name="S2")
    committed = [make_ticket(f"c{i}", sprint=sprint) for i in range(5)]  # AUTH-1..5
    waiting = make_ticket("already in S2", sprint=nxt)  # AUTH-6
    loose = make_ticket("loose")  # AUTH-7
    services.sprint_start(sprint=sprint, actor=cast.lead)

    added = make_ticket("added during", sprint=sprint)  # AUTH-8
    services.tickets_move(project=cast.project, actor=cast.lead, keys=[loose.key], sprint_id=sprint.pk)
    services.tickets_move(project=cast.project, actor=cast.lead, keys=[committed[4].key], sprint_id=None)
    force_status(committed[0], S.DONE)
    force_status(loose, S.DONE)
    services.ticket_transition(ticket=committed[1], actor=cast.lead, status=S.SKIPPED, reason="Answered elsewhere")
    force_status(committed[2], S.REVIEW)

    closed = services.sprint_close(sprint=sprint, actor=cast.lead, carry_over_to=nxt)

    assert closed.state == SprintState.CLOSED and closed.closed_at is not None
    assert closed.snapshot == {
        "committed": ["AUTH-1", "AUTH-2", "AUTH-3", "AUTH-4", "AUTH-5"],
        "added": ["AUTH-7", "AUTH-8"],
        "removed": ["AUTH-5"],
        "completed": ["AUTH-1", "AUTH-7"],
        "skipped": ["AUTH-2"],
        "carried_over": ["AUTH-3", "AUTH-4", "AUTH-8"],
        "counts": {"committed": 5, "added": 2, "removed": 1, "completed": 2, "skipped": 1, "carried_over": 3},
        "carried_to": {"id": nxt.pk, "name": "S2"},
    }
    # Unfinished work goes to the top of the next sprint, in its old order.
    assert order_of(cast.project, nxt) == ["AUTH-3", "AUTH-4", added.key, waiting.key]
    assert order_of(cast.project, sprint) == ["AUTH-1", "AUTH-2", "AUTH-7"]
    carried = TicketEvent.objects.filter(field="sprint", old=sprint.pk, new=nxt.pk)
    assert sorted(carried.values_list("ticket__number", flat=True)) == [3, 4, 8]
    assert {e.note for e in carried} == {"Unfinished when S1 closed"}


def test_closing_to_the_backlog(cast, make_sprint, make_ticket):
    sprint = make_sprint()
    make_ticket("unfinished", sprint=sprint)
    make_ticket("backlog item")
    services.sprint_start(sprint=sprint, actor=cast.lead)
    closed = services.sprint_close(sprint=sprint, actor=cast.lead, carry_over_to=None)
    assert closed.snapshot["carried_to"] is None
    assert closed.snapshot["carried_over"] == ["AUTH-1"]
    assert order_of(cast.project) == ["AUTH-1", "AUTH-2"]


def test_unfinished_work_only_goes_to_a_planned_sprint_of_the_project(cast, make_sprint):
    sprint = make_sprint(state="active")
    other = SprintFactory(project=ProjectFactory(key="ELSE"))
    for target in (sprint, other):
        with pytest.raises(ValidationError, match="can go to a planned sprint of this project or to the backlog"):
            services.sprint_close(sprint=sprint, actor=cast.lead, carry_over_to=target)
    assert Sprint.objects.get(pk=sprint.pk).state == SprintState.ACTIVE


def test_deleting_a_planned_sprint_returns_its_tickets_to_the_backlog(cast, make_sprint, make_ticket):
    sprint = make_sprint()
    ticket = make_ticket("planned", sprint=sprint)
    make_ticket("backlog")
    services.sprint_delete(sprint=sprint, actor=cast.lead)
    assert not Sprint.objects.filter(pk=sprint.pk).exists()
    assert order_of(cast.project) == ["AUTH-1", "AUTH-2"]
    event = TicketEvent.objects.get(ticket=ticket, field="sprint")
    assert (event.old, event.new) == (sprint.pk, None)


def test_started_sprints_cannot_be_deleted(cast, make_sprint):
    sprint = make_sprint(state="active")
    with pytest.raises(ValidationError, match="only planned sprints can be deleted"):
        services.sprint_delete(sprint=sprint, actor=cast.lead)


def test_sprint_dates_are_checked(cast, make_sprint):
    with pytest.raises(ValidationError) as error:
        services.sprint_create(
            project=cast.project, name="Back", start_date=datetime.date(2026, 5, 2), end_date=datetime.date(2026, 5, 1)
        )
    assert error.value.message_dict == {"end_date": ["The sprint must end on or after its start date."]}
    sprint = make_sprint(state="active")
    services.sprint_close(sprint=sprint, actor=cast.lead, carry_over_to=None)
    with pytest.raises(ValidationError, match="its dates are part of the record"):
        services.sprint_update(sprint=sprint, end_date=datetime.date(2027, 1, 1))
    assert services.sprint_update(sprint=sprint, goal="Recorded goal").goal == "Recorded goal"


def test_carried_tickets_keep_their_status(cast, make_sprint, make_ticket):
    sprint, nxt = make_sprint(), make_sprint()
    ticket = force_status(make_ticket(sprint=sprint), S.IN_PROGRESS)
    services.sprint_start(sprint=sprint, actor=cast.lead)
    services.sprint_close(sprint=sprint, actor=cast.lead, carry_over_to=nxt)
    assert Ticket.objects.get(pk=ticket.pk).status == S.IN_PROGRESS
