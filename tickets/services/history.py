"""A ticket's history: the events every planning service writes in the same transaction as its change."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from agileml import events
from tickets import clock
from tickets.models import (
    Project,
    Reassessment,
    Ticket,
    TicketEvent,
)

Field = TicketEvent.Field


def new_event(
    ticket: Ticket,
    field: str,
    old: Any,
    new: Any,
    *,
    actor: AbstractBaseUser | None,
    at: datetime.datetime,
    note: str = "",
    reassessment: Reassessment | None = None,
) -> TicketEvent:
    return TicketEvent(
        ticket=ticket, field=field, old=old, new=new, actor=actor, created_at=at, note=note, reassessment=reassessment
    )


def ticket_state(ticket: Ticket) -> dict[str, Any]:
    """The fields history tracks, as stored in a ``created`` event."""
    return {
        "status": ticket.status,
        "sprint": ticket.sprint_id,
        "epic": ticket.epic_id,
        "assignee": ticket.assignee_id,
        "kind": ticket.kind,
        "estimate": ticket.estimate,
    }


def ticket_record_run_link(
    *, ticket: Ticket, run_name: str, attached: bool, actor: AbstractBaseUser | None = None
) -> TicketEvent:
    """Record in the ticket's history that a run was attached to it or detached from it.

    Called by whoever attaches runs (the experiments app), in its own transaction, so the
    timeline says which evidence the ticket gathered and when.
    """
    old, new = (None, run_name) if attached else (run_name, None)
    event = new_event(ticket, Field.RUN, old, new, actor=actor, at=clock.now())
    record_events([event])
    return event


def ticket_record_link(*, ticket: Ticket, label: str, actor: AbstractBaseUser | None = None) -> TicketEvent:
    """Record in the ticket's history that a pull request or commit (``label``) was linked to it.

    Called by the integrations app when a Git event mentions the ticket, in its transaction.
    """
    event = new_event(ticket, Field.LINK, None, label[:500], actor=actor, at=clock.now())
    record_events([event])
    return event


def record_events(ticket_events: list[TicketEvent]) -> list[TicketEvent]:
    """Save history rows and announce the ones others care about (``agileml.events``).

    Every planning service writes its history through here, in its transaction, so a status
    change, an assignment, an answer or an attached run is published exactly when it is recorded.
    """
    saved = TicketEvent.objects.bulk_create(ticket_events)
    if events.has_subscribers():
        _announce(saved)
    return saved


_ANNOUNCED = {
    Field.CREATED: events.TICKET_CREATED,
    Field.STATUS: events.TICKET_STATUS_CHANGED,
    Field.ASSIGNEE: events.TICKET_ASSIGNED,
    Field.ANSWER: events.TICKET_ANSWERED,
}


def _announce(ticket_events: list[TicketEvent]) -> None:
    user_ids = set()
    for event in ticket_events:
        if event.field == Field.ASSIGNEE:
            user_ids.update(v for v in (event.old, event.new) if v is not None)
        elif event.field == Field.CREATED and event.new.get("assignee") is not None:
            user_ids.add(event.new["assignee"])
    names = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username")) if user_ids else {}
    announced = [e for e in ticket_events if e.field == Field.RUN or e.field in _ANNOUNCED]
    # One query for the projects of tickets that arrive without theirs (bulk moves, reassessments).
    missing = {e.ticket.project_id for e in announced if not Ticket.project.is_cached(e.ticket)}
    projects = Project.objects.in_bulk(missing) if missing else {}
    for event in announced:
        ticket = event.ticket
        if not Ticket.project.is_cached(ticket):
            ticket.project = projects[ticket.project_id]
        base = {"ticket": ticket.key, "title": ticket.title, "kind": ticket.kind}
        if event.field == Field.RUN:
            attached = event.new is not None
            kind = events.RUN_ATTACHED if attached else events.RUN_DETACHED
            payload = {**base, "run": event.new if attached else event.old}
        else:
            kind = _ANNOUNCED[event.field]
            payload = _payload(event, ticket, base, names)
        events.publish(kind, project=ticket.project, actor=event.actor, payload=payload, at=event.created_at)


def _payload(event: TicketEvent, ticket: Ticket, base: dict[str, Any], names: dict[int, str]) -> dict[str, Any]:
    if event.field == Field.CREATED:
        return {**base, "status": event.new["status"], "assignee": names.get(event.new.get("assignee"))}
    if event.field == Field.ASSIGNEE:
        return {**base, "old": names.get(event.old), "new": names.get(event.new)}
    if event.field == Field.ANSWER:
        return {**base, "answer": event.new, "outcome": ticket.outcome}
    return {**base, "old": event.old, "new": event.new, "note": event.note}


# Notes of RUN events that record a run's soft delete and restore rather than an attach/detach.
RUN_DELETED = "deleted"
RUN_RESTORED = "restored"


def ticket_record_run_deletion(
    *, ticket: Ticket, run_name: str, deleted: bool, actor: AbstractBaseUser | None = None
) -> TicketEvent:
    """Record that a run attached to the ticket was deleted (hidden, can be restored) or restored."""
    old, new = (run_name, None) if deleted else (None, run_name)
    event = new_event(
        ticket, Field.RUN, old, new, actor=actor, at=clock.now(), note=RUN_DELETED if deleted else RUN_RESTORED
    )
    event.save()
    return event
