"""Domain events: every planning change others care about is published once, inside its transaction."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from agileml import events
from experiments.tracking.services import runs as run_services
from tests.factories import SprintFactory
from tickets import services
from tickets.models import SprintState, TicketKind, TicketStatus


@pytest.fixture
def heard():
    got: list[events.Event] = []
    events.subscribe(got.append)
    yield got
    events.unsubscribe(got.append)


def _of(heard, kind):
    return [e for e in heard if e.type == kind]


@pytest.mark.django_db
def test_ticket_life_is_published_with_who_and_what(cast, heard):
    ticket = services.ticket_create(
        project=cast.project, actor=cast.lead, title="Tune the threshold", work_type="algorithm_development"
    )
    services.ticket_update(ticket=ticket, actor=cast.lead, assignee=cast.engineer)
    services.ticket_update(ticket=ticket, actor=cast.engineer, status=TicketStatus.IN_PROGRESS)
    services.comment_create(ticket=ticket, author=cast.engineer, body="@lead have a look")

    (created,) = _of(heard, events.TICKET_CREATED)
    assert created.project_key == "AUTH" and created.actor_username == "lead"
    assert created.payload == {
        "ticket": ticket.key,
        "title": "Tune the threshold",
        "kind": TicketKind.CODE,
        "status": TicketStatus.TODO,
        "assignee": None,
    }
    (assigned,) = _of(heard, events.TICKET_ASSIGNED)
    assert (assigned.payload["old"], assigned.payload["new"]) == (None, "engineer")
    (moved,) = _of(heard, events.TICKET_STATUS_CHANGED)
    assert (moved.payload["old"], moved.payload["new"], moved.actor_username) == ("todo", "in_progress", "engineer")
    (comment,) = _of(heard, events.COMMENT_CREATED)
    assert comment.payload["body"] == "@lead have a look" and comment.payload["author"] == "engineer"
    assert len({e.id for e in heard}) == len(heard)


@pytest.mark.django_db
def test_an_answer_and_an_attached_run_are_published(cast, heard):
    question = services.ticket_create(
        project=cast.project,
        actor=cast.lead,
        title="Does rhythm identify people?",
        work_type="algorithm_development",
        kind=TicketKind.QUESTION,
        question="Does it?",
        hypothesis="It does.",
    )
    run = run_services.run_create(project=cast.project, user=cast.engineer, name="rhythm-1", ticket_key=question.key)
    services.ticket_answer(ticket=question, actor=cast.lead, answer="Yes, at EER 4%.", outcome="supported")

    (attached,) = _of(heard, events.RUN_ATTACHED)
    assert attached.payload["ticket"] == question.key and attached.payload["run"] == run.display_name
    (answered,) = _of(heard, events.TICKET_ANSWERED)
    assert answered.payload["answer"] == "Yes, at EER 4%." and answered.payload["outcome"] == "supported"
    assert [e.payload["new"] for e in _of(heard, events.TICKET_STATUS_CHANGED)] == [TicketStatus.DONE]


@pytest.mark.django_db
def test_sprint_start_and_close_are_published(cast, heard):
    today = dt.date.today()
    sprint = SprintFactory(project=cast.project, state=SprintState.PLANNED, start_date=today, end_date=today)
    ticket = services.ticket_create(
        project=cast.project, actor=cast.lead, title="Ship it", work_type="algorithm_development", sprint=sprint
    )
    services.sprint_start(sprint=sprint, actor=cast.lead)
    services.ticket_update(ticket=ticket, actor=cast.lead, status=TicketStatus.DONE)
    services.sprint_close(sprint=sprint, actor=cast.lead, carry_over_to=None)

    (started,) = _of(heard, events.SPRINT_STARTED)
    assert started.payload["committed"] == [ticket.key] and started.payload["name"] == sprint.name
    (closed,) = _of(heard, events.SPRINT_CLOSED)
    assert (closed.payload["done"], closed.payload["carried_over"]) == (1, 0)


@pytest.mark.django_db(transaction=True)
def test_a_change_that_rolls_back_takes_its_subscribers_rows_with_it(cast):
    """Subscribers run inside the publisher's transaction: a failing subscriber aborts the change."""

    def refuse(event):
        raise RuntimeError("subscriber failed")

    events.subscribe(refuse)
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.ticket_create(
                project=cast.project, actor=cast.lead, title="Never saved", work_type="algorithm_development"
            )
    finally:
        events.unsubscribe(refuse)
    assert not cast.project.tickets.filter(title="Never saved").exists()


def test_unknown_event_types_are_refused():
    with pytest.raises(ValueError, match="not an event type"):
        events.publish("ticket.exploded", project=None, actor=None, payload={})
