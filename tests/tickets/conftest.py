"""Helpers for planning tests: tickets and sprints made through the services, so history is complete."""

from __future__ import annotations

import datetime

import pytest

from tickets import services
from tickets.models import Sprint, Ticket, TicketKind, TicketStatus, WorkType


@pytest.fixture
def make_ticket(cast):
    """``make_ticket(title=..., **fields)`` → a ticket in AUTH created by the lead through the service."""

    def make(title: str = "Try a gradient-boosted baseline", **fields) -> Ticket:
        fields.setdefault("work_type", WorkType.ALGORITHM_DEVELOPMENT)
        fields.setdefault("actor", cast.lead)
        return services.ticket_create(project=cast.project, title=title, **fields)

    return make


@pytest.fixture
def make_question(make_ticket):
    def make(title: str = "Does motion add signal beyond typing?", **fields) -> Ticket:
        fields.setdefault("kind", TicketKind.QUESTION)
        fields.setdefault("work_type", WorkType.DATA_EXPLORATION)
        fields.setdefault("question", "Does adding gyroscope features raise AUC on held-out subjects?")
        fields.setdefault("hypothesis", "Yes, by at least 0.02 AUC.")
        return make_ticket(title, **fields)

    return make


@pytest.fixture
def make_sprint(cast):
    counter = {"n": 0}

    def make(name: str | None = None, *, start: datetime.date | None = None, state: str = "planned", **kw) -> Sprint:
        counter["n"] += 1
        start = start or datetime.date(2026, 11, 2) + datetime.timedelta(days=14 * counter["n"])
        sprint = services.sprint_create(
            project=cast.project,
            name=name or f"Sprint {counter['n']}",
            start_date=start,
            end_date=start + datetime.timedelta(days=13),
            **kw,
        )
        if state == "active":
            sprint = services.sprint_start(sprint=sprint, actor=cast.lead)
        return sprint

    return make


def force_status(ticket: Ticket, status: str, **fields) -> Ticket:
    """Put a ticket in ``status`` directly (test setup only: skips the rules and the history)."""
    Ticket.objects.filter(pk=ticket.pk).update(status=status, **fields)
    ticket.refresh_from_db()
    return ticket


def order_of(project, sprint=None) -> list[str]:
    """Keys of a list (a sprint, or the backlog) in rank order."""
    rows = Ticket.objects.filter(project=project, sprint=sprint).order_by("rank", "id")
    return [f"{project.key}-{n}" for n in rows.values_list("number", flat=True)]


OPEN = [TicketStatus.TODO, TicketStatus.IN_PROGRESS, TicketStatus.REVIEW]


READ = [(None, 401), ("outsider", 404), ("stakeholder", 200), ("engineer", 200), ("lead", 200)]


def lead_only(ok: int) -> list[tuple[str | None, int]]:
    return [(None, 401), ("outsider", 404), ("stakeholder", 403), ("engineer", 403), ("lead", ok)]


def engineers(ok: int) -> list[tuple[str | None, int]]:
    return [(None, 401), ("outsider", 404), ("stakeholder", 403), ("engineer", ok), ("lead", ok)]


@pytest.fixture
def scene(cast, make_ticket, make_question, make_sprint):
    """A small plan: an epic, an active and a planned sprint, a question and code tickets.

    AUTH-1 question in the active sprint (epic), AUTH-2 code in the active sprint (epic),
    AUTH-3 and AUTH-4 code in the backlog, AUTH-5 code in the planned sprint.
    """
    from tests.factories import EpicFactory

    epic = EpicFactory(project=cast.project, title="Motion", goal="Know whether motion helps.")
    active = make_sprint(name="Now")
    planned = make_sprint(name="Next")
    tickets = [
        make_question(sprint=active, epic=epic, assignee=cast.engineer),
        make_ticket("Gyro features", sprint=active, epic=epic),
        make_ticket("Walking sessions", work_type=WorkType.DATA_EXPLORATION),
        make_ticket("Error dashboard", work_type=WorkType.RESULT_ANALYSIS, assignee=cast.lead),
        make_ticket("Ship it", sprint=planned, work_type=WorkType.DEPLOYMENT),
    ]
    active = services.sprint_start(sprint=active, actor=cast.lead)

    class Scene:
        pass

    s = Scene()
    s.epic, s.active, s.planned, s.tickets = epic, active, planned, tickets
    return s
