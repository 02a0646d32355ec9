"""Writes for tickets: create, change (status transitions included), answer a question, delete."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from tickets import clock
from tickets.models import (
    Epic,
    Membership,
    Outcome,
    Project,
    Reassessment,
    Sprint,
    SprintState,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketStatus,
)
from tickets.services.history import Field, new_event, record_events, ticket_state
from tickets.services.ranking import next_rank, place_tickets
from tickets.services.shared import UNSET, fresh_sprint, lock_project, refuse_if_frozen

TRANSITIONS: dict[str, frozenset[str]] = {
    TicketStatus.TODO: frozenset(
        {TicketStatus.IN_PROGRESS, TicketStatus.REVIEW, TicketStatus.DONE, TicketStatus.SKIPPED}
    ),
    TicketStatus.IN_PROGRESS: frozenset(
        {TicketStatus.TODO, TicketStatus.REVIEW, TicketStatus.DONE, TicketStatus.SKIPPED}
    ),
    TicketStatus.REVIEW: frozenset(
        {TicketStatus.TODO, TicketStatus.IN_PROGRESS, TicketStatus.DONE, TicketStatus.SKIPPED}
    ),
    # Finished work can be reopened, but not skipped: skipping is for work not done.
    TicketStatus.DONE: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.REVIEW}),
    # A skipped ticket comes back as new work.
    TicketStatus.SKIPPED: frozenset({TicketStatus.TODO}),
}


def _check_assignee(project: Project, user: AbstractBaseUser | None) -> None:
    if user is not None and not Membership.objects.filter(project=project, user=user).exists():
        raise ValidationError({"assignee": f"{user.get_username()} is not a member of {project.key}."})


def _check_epic(project: Project, epic: Epic | None) -> None:
    if epic is not None and epic.project_id != project.id:
        raise ValidationError({"epic": f"Epic {epic.pk} belongs to another project."})


def _check_done_rule(ticket: Ticket, key: str) -> None:
    """A question is only done once it says what was asked, what was expected and what was found."""
    if ticket.status != TicketStatus.DONE or ticket.kind != TicketKind.QUESTION:
        return
    missing = [name for name in ("question", "hypothesis", "answer", "outcome") if not getattr(ticket, name)]
    if missing:
        raise ValidationError(
            {
                "status": f"{key} is a question: it needs {', '.join(missing)} before it can be done "
                "(answer it to close it)."
            }
        )


def _transition(
    ticket: Ticket,
    status: str,
    *,
    key: str,
    reason: str,
    actor: AbstractBaseUser | None,
    at: datetime.datetime,
    events: list[TicketEvent],
    reassessment: Reassessment | None = None,
) -> list[str]:
    """Move ``ticket`` to ``status`` in memory, append the event; returns the fields to save."""
    if status not in TicketStatus.values:
        raise ValidationError({"status": f"{status!r} is not a status; use one of {', '.join(TicketStatus.values)}."})
    if status == ticket.status:
        return []
    refuse_if_frozen(ticket, "status", key)
    if status not in TRANSITIONS[ticket.status]:
        allowed = " or ".join(TicketStatus(s).label for s in sorted(TRANSITIONS[ticket.status]))
        raise ValidationError(
            {
                "status": f"{key} is {TicketStatus(ticket.status).label}: it can move to {allowed}, not to "
                f"{TicketStatus(status).label}."
            }
        )
    reason = (reason or "").strip()
    fields = ["status"]
    if status == TicketStatus.SKIPPED:
        if not reason:
            raise ValidationError({"skip_reason": f"Say why {key} is skipped: skipping needs a reason."})
        ticket.skip_reason = reason
        fields.append("skip_reason")
    elif ticket.status == TicketStatus.SKIPPED:
        ticket.skip_reason = ""
        fields.append("skip_reason")
    events.append(
        new_event(
            ticket, Field.STATUS, ticket.status, status, actor=actor, at=at, note=reason, reassessment=reassessment
        )
    )
    ticket.status = status
    return fields


def _refuse_if_not_started(ticket: Ticket, status: str, key: str) -> None:
    """Work in a planned sprint has not begun: only the active sprint's board changes status.

    A reassessment may still skip it (learning changes the plan before the sprint starts).
    """
    sprint = ticket.sprint
    if status != ticket.status and sprint is not None and sprint.state == SprintState.PLANNED:
        raise ValidationError(
            {"status": f"{key} is in {sprint.name}, which has not started; statuses change once it is active."}
        )


def _validate_fields(ticket: Ticket, fields: list[str]) -> None:
    checked = set(fields) & {
        "title",
        "description",
        "kind",
        "work_type",
        "estimate",
        "question",
        "hypothesis",
        "deliverable_url",
        "answer",
        "outcome",
        "status",
    }
    if checked:
        exclude = [f.name for f in Ticket._meta.fields if f.name not in checked]
        ticket.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)


@transaction.atomic
def ticket_create(
    *,
    project: Project,
    actor: AbstractBaseUser | None,
    title: str,
    work_type: str,
    kind: str = TicketKind.CODE,
    description: str = "",
    assignee: AbstractBaseUser | None = None,
    epic: Epic | None = None,
    sprint: Sprint | None = None,
    estimate: int | None = None,
    question: str = "",
    hypothesis: str = "",
    deliverable_url: str = "",
) -> Ticket:
    """Create a ticket with the project's next key at the bottom of its list (the backlog by default)."""
    ticket = Ticket(
        project=project,
        kind=kind,
        work_type=work_type,
        title=(title or "").strip(),
        description=description,
        assignee=assignee,
        epic=epic,
        estimate=estimate,
        question=question,
        hypothesis=hypothesis,
        deliverable_url=deliverable_url,
        created_by=actor,
    )
    _validate_fields(
        ticket, ["title", "description", "kind", "work_type", "estimate", "question", "hypothesis", "deliverable_url"]
    )
    _check_assignee(project, assignee)
    _check_epic(project, epic)
    locked = lock_project(project)
    ticket.sprint = fresh_sprint(project, sprint)
    at = clock.now()
    ticket.number = locked.ticket_counter + 1
    Project.objects.filter(pk=project.pk).update(ticket_counter=ticket.number)
    project.ticket_counter = ticket.number
    ticket.rank = next_rank(project)
    ticket.created_at = at
    ticket.save()
    record_events([new_event(ticket, Field.CREATED, None, ticket_state(ticket), actor=actor, at=at)])
    return ticket


@transaction.atomic
def ticket_update(
    *,
    ticket: Ticket,
    actor: AbstractBaseUser | None,
    title: str = UNSET,
    description: str = UNSET,
    kind: str = UNSET,
    work_type: str = UNSET,
    assignee: AbstractBaseUser | None = UNSET,
    epic: Epic | None = UNSET,
    sprint: Sprint | None = UNSET,
    estimate: int | None = UNSET,
    question: str = UNSET,
    hypothesis: str = UNSET,
    deliverable_url: str = UNSET,
    status: str = UNSET,
    skip_reason: str = "",
    reassessment: Reassessment | None = None,
) -> Ticket:
    """Change any of the given fields; each tracked change is written to the ticket's history.

    A new sprint puts the ticket at the bottom of that sprint's list. ``skip_reason`` is
    required when ``status`` becomes skipped.
    """
    project = ticket.project
    key = ticket.key
    if sprint is not UNSET:
        lock_project(project)
    current = Ticket.objects.select_for_update(of=("self",)).select_related("sprint").get(pk=ticket.pk)
    current.project = project
    at = clock.now()
    events: list[TicketEvent] = []
    fields = _apply_plain(
        current,
        {
            "title": title,
            "description": description,
            "work_type": work_type,
            "question": question,
            "hypothesis": hypothesis,
            "deliverable_url": deliverable_url,
        },
    )
    record = {"actor": actor, "at": at, "reassessment": reassessment}
    fields += _apply_tracked(
        current, {"kind": kind, "estimate": estimate, "assignee": assignee, "epic": epic}, events=events, **record
    )
    if status is not UNSET:
        if reassessment is None:
            _refuse_if_not_started(current, status, key)
        fields += _transition(current, status, key=key, reason=skip_reason, events=events, **record)
    _validate_fields(current, fields)
    _check_done_rule(current, key)
    if fields:
        current.updated_at = at
        current.save(update_fields=[*fields, "updated_at"])
    if sprint is not UNSET and (sprint.pk if sprint else None) != current.sprint_id:
        refuse_if_frozen(current, "sprint", key)
        destination = fresh_sprint(project, sprint)
        events += place_tickets(project, [current], destination, **record)
    record_events(events)
    return current


def _apply_plain(current: Ticket, values: dict[str, Any]) -> list[str]:
    """Set the untracked text fields that were given and changed; returns their names."""
    fields = []
    for name, value in values.items():
        if value is not UNSET and getattr(current, name) != value:
            setattr(current, name, value.strip() if name == "title" else value)
            fields.append(name)
    return fields


# Fields whose changes the history records, by the event field they are recorded as; relations by id.
TRACKED = {"kind": Field.KIND, "estimate": Field.ESTIMATE}
TRACKED_RELATIONS = {"assignee": Field.ASSIGNEE, "epic": Field.EPIC}


def _apply_tracked(
    current: Ticket,
    values: dict[str, Any],
    *,
    events: list[TicketEvent],
    actor: AbstractBaseUser | None,
    at: datetime.datetime,
    reassessment: Reassessment | None,
) -> list[str]:
    """Set the tracked fields that were given and changed, appending an event for each; returns their names."""
    fields = []
    for name, value in values.items():
        if value is UNSET:
            continue
        related = name in TRACKED_RELATIONS
        old = getattr(current, f"{name}_id") if related else getattr(current, name)
        new = (value.pk if value else None) if related else value
        if new == old:
            continue
        if name == "assignee":
            _check_assignee(current.project, value)
        elif name == "epic":
            _check_epic(current.project, value)
        field = TRACKED_RELATIONS[name] if related else TRACKED[name]
        events.append(new_event(current, field, old, new, actor=actor, at=at, reassessment=reassessment))
        setattr(current, name, value)
        fields.append(name)
    return fields


def ticket_transition(*, ticket: Ticket, actor: AbstractBaseUser | None, status: str, reason: str = "") -> Ticket:
    """Change the status (the board's drag); skipping needs ``reason``."""
    return ticket_update(ticket=ticket, actor=actor, status=status, skip_reason=reason)


@transaction.atomic
def ticket_answer(*, ticket: Ticket, actor: AbstractBaseUser | None, answer: str, outcome: str) -> Ticket:
    """Record what a question found; an open question becomes done, a done one gets its answer revised."""
    key = ticket.key
    current = Ticket.objects.select_for_update(of=("self",)).select_related("sprint").get(pk=ticket.pk)
    current.project = ticket.project
    if current.kind != TicketKind.QUESTION:
        raise ValidationError({"kind": f"{key} is a code ticket; only question tickets are answered."})
    answer = (answer or "").strip()
    if not answer:
        raise ValidationError({"answer": "Write the answer: what did you find?"})
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": f"Choose an outcome: {', '.join(Outcome.values)}."})
    missing = [name for name in ("question", "hypothesis") if not getattr(current, name).strip()]
    if missing:
        raise ValidationError({missing[0]: f"State the {missing[0]} of {key} before answering it."})
    if current.status == TicketStatus.SKIPPED:
        raise ValidationError({"status": f"{key} was skipped; reinstate it before answering."})
    at = clock.now()
    events: list[TicketEvent] = []
    fields: list[str] = []
    if answer != current.answer:
        events.append(new_event(current, Field.ANSWER, current.answer or None, answer, actor=actor, at=at))
        current.answer = answer
        current.answered_at = at
        fields += ["answer", "answered_at"]
    if outcome != current.outcome:
        events.append(new_event(current, Field.OUTCOME, current.outcome or None, outcome, actor=actor, at=at))
        current.outcome = outcome
        fields.append("outcome")
    if current.status != TicketStatus.DONE:
        fields += _transition(current, TicketStatus.DONE, key=key, reason="", actor=actor, at=at, events=events)
    if fields:
        current.updated_at = at
        current.save(update_fields=[*fields, "updated_at"])
        record_events(events)
    return current


@transaction.atomic
def ticket_delete(*, ticket: Ticket) -> None:
    """Delete a ticket that never took part in a started sprint; anything else is skipped instead."""
    key = ticket.key
    current = Ticket.objects.select_for_update(of=("self",)).select_related("sprint").get(pk=ticket.pk)
    started = list(Sprint.objects.filter(project=ticket.project, started_at__isnull=False).values_list("pk", flat=True))
    in_started = (current.sprint is not None and current.sprint.state != SprintState.PLANNED) or (
        bool(started)
        and TicketEvent.objects.filter(ticket=current)
        .filter(Q(field=Field.SPRINT, new__in=started) | Q(field=Field.CREATED, new__sprint__in=started))
        .exists()
    )
    if current.status != TicketStatus.TODO or in_started:
        raise ValidationError(
            {"ticket": f"{key} is part of the sprint history; skip it with a reason instead of deleting it."}
        )
    current.delete()
