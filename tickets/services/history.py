"""A ticket's history: the events every planning service writes in the same transaction as its change."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from tickets import clock
from tickets.models import (
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
    event.save()
    return event


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
