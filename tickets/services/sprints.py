"""Writes for sprints: plan, change, start (the commitment), close (carry-over and the frozen snapshot)."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from agileml import events
from tickets import clock
from tickets.models import (
    Project,
    Sprint,
    SprintState,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from tickets.services.history import Field, record_events
from tickets.services.ranking import place_tickets
from tickets.services.shared import UNSET, format_ticket_key, lock_project


def _check_dates(start_date: datetime.date, end_date: datetime.date) -> None:
    if end_date < start_date:
        raise ValidationError({"end_date": "The sprint must end on or after its start date."})


def sprint_create(
    *, project: Project, name: str, start_date: datetime.date, end_date: datetime.date, goal: str = ""
) -> Sprint:
    _check_dates(start_date, end_date)
    sprint = Sprint(project=project, name=(name or "").strip(), goal=goal, start_date=start_date, end_date=end_date)
    sprint.full_clean(exclude=["project", "snapshot", "committed"], validate_constraints=False)
    sprint.save()
    return sprint


def sprint_update(
    *,
    sprint: Sprint,
    name: str = UNSET,
    goal: str = UNSET,
    start_date: datetime.date = UNSET,
    end_date: datetime.date = UNSET,
) -> Sprint:
    changes = {"name": name, "goal": goal, "start_date": start_date, "end_date": end_date}
    changes = {k: v for k, v in changes.items() if v is not UNSET}
    sprint.state = Sprint.objects.values_list("state", flat=True).get(pk=sprint.pk)
    if sprint.state == SprintState.CLOSED and set(changes) & {"start_date", "end_date"}:
        raise ValidationError({"start_date": f"{sprint.name} is closed; its dates are part of the record."})
    for name_, value in changes.items():
        setattr(sprint, name_, value.strip() if name_ == "name" else value)
    _check_dates(sprint.start_date, sprint.end_date)
    sprint.full_clean(exclude=["project", "snapshot", "committed"], validate_constraints=False)
    if changes:
        sprint.save(update_fields=list(changes))
    return sprint


@transaction.atomic
def sprint_delete(*, sprint: Sprint, actor: AbstractBaseUser | None) -> None:
    """Delete a planned sprint; its tickets go back to the top of the backlog (recorded)."""
    project = sprint.project
    lock_project(project)
    sprint = Sprint.objects.get(pk=sprint.pk)
    if sprint.state != SprintState.PLANNED:
        raise ValidationError({"state": f"{sprint.name} is {sprint.state}; only planned sprints can be deleted."})
    tickets = list(Ticket.objects.select_for_update(of=("self",)).filter(sprint=sprint).order_by("rank", "id"))
    if tickets:
        events = place_tickets(
            project, tickets, None, side="start", actor=actor, at=clock.now(), note=f"{sprint.name} was deleted"
        )
        record_events(events)
    sprint.delete()


@transaction.atomic
def sprint_start(*, sprint: Sprint, actor: AbstractBaseUser | None, move_dates: bool = False) -> Sprint:
    """Start a planned sprint; what it holds now is what the team committed to.

    A sprint dated in the future starts only with ``move_dates``: it then starts today and
    keeps its length. Starting it on its old dates would make its burndown, burnup and
    review count days that had not begun.
    """
    project = sprint.project
    lock_project(project)
    fresh = Sprint.objects.get(pk=sprint.pk)
    if fresh.state != SprintState.PLANNED:
        raise ValidationError({"state": f"{fresh.name} is {fresh.state}; only a planned sprint can start."})
    active = Sprint.objects.filter(project=project, state=SprintState.ACTIVE).first()
    if active is not None:
        raise ValidationError({"state": f"{active.name} is still active; close it before starting {fresh.name}."})
    fields = ["state", "started_at", "committed"]
    today = timezone.localdate(clock.now())
    if fresh.start_date > today:
        if not move_dates:
            raise ValidationError(
                {
                    "move_dates": f"{fresh.name} is planned to start on {fresh.start_date:%a %d %b %Y}, after today; "
                    "move its dates to today to start it now (move_dates=true)."
                }
            )
        fresh.end_date = today + (fresh.end_date - fresh.start_date)
        fresh.start_date = today
        fields += ["start_date", "end_date"]
    numbers = Ticket.objects.filter(sprint=fresh).order_by("number").values_list("number", flat=True)
    fresh.state = SprintState.ACTIVE
    fresh.started_at = clock.now()
    fresh.committed = [format_ticket_key(project, n) for n in numbers]
    try:
        with transaction.atomic():
            fresh.save(update_fields=fields)
    except IntegrityError:
        raise ValidationError({"state": "Another sprint was started at the same moment; reload."}) from None
    fresh.project = project
    events.publish(
        events.SPRINT_STARTED,
        project=project,
        actor=actor,
        at=fresh.started_at,
        payload={
            "sprint": fresh.pk,
            "name": fresh.name,
            "start_date": fresh.start_date.isoformat(),
            "end_date": fresh.end_date.isoformat(),
            "committed": list(fresh.committed),
        },
    )
    return fresh


def _snapshot(project: Project, sprint: Sprint, current: list[Ticket]) -> dict[str, Any]:
    """What happened to the sprint's scope, from its start to now (its close)."""
    committed = set(sprint.committed or [])
    entered: set[str] = set()
    left: set[str] = set()
    rows = (
        TicketEvent.objects.filter(ticket__project=project, created_at__gte=sprint.started_at)
        .filter(
            Q(field=Field.SPRINT, new=sprint.pk)
            | Q(field=Field.SPRINT, old=sprint.pk)
            | Q(field=Field.CREATED, new__sprint=sprint.pk)
        )
        .values_list("ticket__number", "field", "old", "new")
    )
    for number, field, old, new in rows:
        key = format_ticket_key(project, number)
        if field == Field.CREATED or new == sprint.pk:
            entered.add(key)
        if field == Field.SPRINT and old == sprint.pk:
            left.add(key)
    in_sprint = {format_ticket_key(project, t.number): t for t in current}

    def ordered(keys: set[str]) -> list[str]:
        return sorted(keys, key=lambda k: int(k.rpartition("-")[2]))

    snapshot = {
        "committed": ordered(committed),
        "added": ordered(entered - committed),
        "removed": ordered((committed | entered | left) - set(in_sprint)),
        "completed": ordered({k for k, t in in_sprint.items() if t.status == TicketStatus.DONE}),
        "skipped": ordered({k for k, t in in_sprint.items() if t.status == TicketStatus.SKIPPED}),
        "carried_over": ordered({k for k, t in in_sprint.items() if t.is_open}),
    }
    snapshot["counts"] = {name: len(keys) for name, keys in snapshot.items()}
    return snapshot


@transaction.atomic
def sprint_close(*, sprint: Sprint, actor: AbstractBaseUser | None, carry_over_to: Sprint | None) -> Sprint:
    """Close the active sprint: unfinished tickets go to the top of planned sprint ``carry_over_to``
    (None: the backlog) and the sprint's record is frozen in ``snapshot``."""
    project = sprint.project
    lock_project(project)
    fresh = Sprint.objects.get(pk=sprint.pk)
    if fresh.state != SprintState.ACTIVE:
        raise ValidationError({"state": f"{fresh.name} is {fresh.state}; only the active sprint can be closed."})
    target = None
    if carry_over_to is not None:
        target = Sprint.objects.filter(project=project, pk=carry_over_to.pk).first()
        if target is None or target.pk == fresh.pk or target.state != SprintState.PLANNED:
            raise ValidationError(
                {"carry_over_to": "Unfinished tickets can go to a planned sprint of this project or to the backlog."}
            )
    current = list(Ticket.objects.select_for_update(of=("self",)).filter(sprint=fresh).order_by("rank", "id"))
    at = clock.now()
    snapshot = _snapshot(project, fresh, current)
    snapshot["carried_to"] = {"id": target.pk, "name": target.name} if target else None
    unfinished = [t for t in current if t.is_open]
    if unfinished:
        note = f"Unfinished when {fresh.name} closed"
        record_events(place_tickets(project, unfinished, target, side="start", actor=actor, at=at, note=note))
    fresh.state = SprintState.CLOSED
    fresh.closed_at = at
    fresh.snapshot = snapshot
    fresh.save(update_fields=["state", "closed_at", "snapshot"])
    fresh.project = project
    events.publish(
        events.SPRINT_CLOSED,
        project=project,
        actor=actor,
        at=at,
        payload={
            "sprint": fresh.pk,
            "name": fresh.name,
            "done": sum(1 for t in current if t.status == TicketStatus.DONE),
            "carried_over": len(unfinished),
            "carried_to": target.name if target else None,
        },
    )
    return fresh
