"""Writes for planning: projects, memberships, tickets and their history, ranks, sprints, epics,
comments, answers and reassessments. Every change a ticket's history tracks is written here,
in the same transaction as the change."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q

from tickets import clock
from tickets.models import (
    Comment,
    Decision,
    Epic,
    EpicStatus,
    Membership,
    Outcome,
    Project,
    Reassessment,
    ReassessmentDecision,
    Role,
    Sprint,
    SprintState,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketStatus,
)

User = get_user_model()


@transaction.atomic
def project_create(*, key: str, name: str, description: str = "", lead: AbstractBaseUser) -> Project:
    """Create a project with ``lead`` as its first lead."""
    project = Project(key=key, name=name, description=description)
    project.full_clean()
    try:
        with transaction.atomic():
            project.save()
    except IntegrityError:
        raise ValidationError({"key": f"A project with key {key} already exists."}) from None
    Membership.objects.create(project=project, user=lead, role=Role.LEAD)
    return project


def project_update(*, project: Project, name: str | None = None, description: str | None = None) -> Project:
    fields = []
    if name is not None:
        project.name = name
        fields.append("name")
    if description is not None:
        project.description = description
        fields.append("description")
    if fields:
        project.full_clean(exclude=["key"])
        project.save(update_fields=fields)
    return project


def membership_add(*, project: Project, username: str, role: Role) -> Membership:
    """Add an existing user to ``project``."""
    try:
        user = User.objects.get(username=username)
    except User.DoesNotExist:
        raise ValidationError({"username": f"There is no user named {username!r}."}) from None
    try:
        with transaction.atomic():
            return Membership.objects.create(project=project, user=user, role=Role(role))
    except IntegrityError:
        raise ValidationError({"username": f"{username} is already a member of {project.key}."}) from None


def _lock_leads(project: Project) -> list[int]:
    """Lock the project's lead memberships so two requests cannot each remove a lead."""
    return list(
        Membership.objects.select_for_update()
        .filter(project=project, role=Role.LEAD)
        .order_by("id")
        .values_list("id", flat=True)
    )


@transaction.atomic
def membership_change_role(*, membership: Membership, role: Role) -> Membership:
    role = Role(role)
    if membership.role == Role.LEAD and role != Role.LEAD:
        leads = _lock_leads(membership.project)
        if leads == [membership.id]:
            raise ValidationError({"role": "A project needs at least one lead: make someone else lead first."})
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    if membership.role == Role.LEAD:
        leads = _lock_leads(membership.project)
        if leads == [membership.id]:
            raise ValidationError({"username": "The last lead cannot be removed: make someone else lead first."})
    membership.delete()


# ======================================================================================
# Planning: tickets, ranks, sprints, epics, comments, answers and reassessments.
#
# Lock order, so concurrent requests never deadlock: the project row first (every
# change of a ticket's sprint or rank, ticket creation and sprint start/close take
# it), then ticket rows in id order. Status-only changes lock just the ticket row.
# ======================================================================================

# Space between neighbouring ranks after a rebalance: 2^24 lets ~24 successive
# "move between the same two tickets" happen before the project is renumbered.
GAP = 1 << 24
# Ranks beyond this trigger a rebalance long before a BigInteger would overflow.
RANK_LIMIT = 1 << 62
# The most tickets one bulk move may carry (a backlog screen's worth).
MOVE_LIMIT = 500


class _Unset:
    """Marks a keyword argument the caller did not pass (``None`` is a real value)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()

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

Field = TicketEvent.Field


def _event(
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


def _state(ticket: Ticket) -> dict[str, Any]:
    """The fields history tracks, as stored in a ``created`` event."""
    return {
        "status": ticket.status,
        "sprint": ticket.sprint_id,
        "epic": ticket.epic_id,
        "assignee": ticket.assignee_id,
        "kind": ticket.kind,
        "estimate": ticket.estimate,
    }


def _lock_project(project: Project) -> Project:
    return Project.objects.select_for_update().get(pk=project.pk)


def _where(sprint: Sprint | None) -> str:
    return sprint.name if sprint is not None else "the backlog"


def _ticket_key(project: Project, number: int) -> str:
    return f"{project.key}-{number}"


def _number_from_key(project: Project, key: str, field: str) -> int:
    prefix, sep, number = str(key).strip().rpartition("-")
    if not sep or not number.isdigit():
        raise ValidationError({field: f"{key!r} is not a ticket key; keys look like {project.key}-12."})
    if prefix != project.key:
        raise ValidationError({field: f"{key} is not a ticket of {project.key}."})
    return int(number)


def _check_assignee(project: Project, user: AbstractBaseUser | None) -> None:
    if user is not None and not Membership.objects.filter(project=project, user=user).exists():
        raise ValidationError({"assignee": f"{user.get_username()} is not a member of {project.key}."})


def _check_epic(project: Project, epic: Epic | None) -> None:
    if epic is not None and epic.project_id != project.id:
        raise ValidationError({"epic": f"Epic {epic.pk} belongs to another project."})


def _fresh_sprint(project: Project, sprint: Sprint | None, field: str = "sprint") -> Sprint | None:
    """Re-read ``sprint`` (its state may have changed) and refuse closed or foreign sprints."""
    if sprint is None:
        return None
    fresh = Sprint.objects.filter(project=project, pk=sprint.pk).first()
    if fresh is None:
        raise ValidationError({field: f"There is no sprint {sprint.pk} in {project.key}."})
    if fresh.state == SprintState.CLOSED:
        raise ValidationError({field: f"{fresh.name} is closed; closed sprints are frozen."})
    return fresh


def _refuse_if_frozen(ticket: Ticket, field: str, key: str) -> None:
    if ticket.sprint is not None and ticket.sprint.state == SprintState.CLOSED:
        raise ValidationError(
            {field: f"{key} belongs to the closed sprint {ticket.sprint.name}; closed sprints are frozen."}
        )


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
    _refuse_if_frozen(ticket, "status", key)
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
        _event(ticket, Field.STATUS, ticket.status, status, actor=actor, at=at, note=reason, reassessment=reassessment)
    )
    ticket.status = status
    return fields


def _next_rank(project: Project) -> int:
    top = Ticket.objects.filter(project=project).aggregate(top=Max("rank"))["top"]
    return (top or 0) + GAP


def _rebalance(project: Project) -> None:
    """Renumber the project's ranks GAP apart, keeping the order (rank, id) of every list."""
    table = Ticket._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET rank = ordered.position * %s "  # noqa: S608 - table name from the model
            f"FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY rank, id) AS position FROM {table} "
            f"WHERE project_id = %s) AS ordered WHERE {table}.id = ordered.id",
            [GAP, project.pk],
        )


def _bounds(
    project: Project, sprint_id: int | None, exclude: list[int], anchor: Ticket | None, side: str
) -> tuple[int | None, int | None]:
    """The ranks just below and above the slot ``side`` ("before", "after", "start", "end") names."""
    rows = Ticket.objects.filter(project=project, sprint_id=sprint_id).exclude(pk__in=exclude)
    if side == "end":
        return rows.order_by("-rank", "-id").values_list("rank", flat=True).first(), None
    if side == "start":
        return None, rows.order_by("rank", "id").values_list("rank", flat=True).first()
    anchor_rank = Ticket.objects.values_list("rank", flat=True).get(pk=anchor.pk)
    if side == "before":
        below = Q(rank__lt=anchor_rank) | Q(rank=anchor_rank, id__lt=anchor.pk)
        return rows.filter(below).order_by("-rank", "-id").values_list("rank", flat=True).first(), anchor_rank
    above = Q(rank__gt=anchor_rank) | Q(rank=anchor_rank, id__gt=anchor.pk)
    return anchor_rank, rows.filter(above).order_by("rank", "id").values_list("rank", flat=True).first()


def _spread(low: int | None, high: int | None, count: int) -> list[int] | None:
    """``count`` increasing ranks strictly between ``low`` and ``high``; None when they do not fit."""
    if low is None and high is None:
        ranks = [GAP * (i + 1) for i in range(count)]
    elif high is None:
        ranks = [low + GAP * (i + 1) for i in range(count)]
    elif low is None:
        ranks = [high - GAP * (count - i) for i in range(count)]
    else:
        step = (high - low) // (count + 1)
        if step < 1:
            return None
        ranks = [low + step * (i + 1) for i in range(count)]
    if abs(ranks[0]) > RANK_LIMIT or abs(ranks[-1]) > RANK_LIMIT:
        return None
    return ranks


def _place(
    project: Project,
    tickets: list[Ticket],
    sprint: Sprint | None,
    *,
    anchor: Ticket | None = None,
    side: str = "end",
    actor: AbstractBaseUser | None,
    at: datetime.datetime,
    note: str = "",
    reassessment: Reassessment | None = None,
) -> list[TicketEvent]:
    """Put ``tickets`` (in this order) into ``sprint``'s list at the slot named; caller holds the project lock.

    Ranks and sprints are written with one bulk update; returns the sprint events to save.
    """
    sprint_id = sprint.pk if sprint is not None else None
    exclude = [t.pk for t in tickets]
    ranks = _spread(*_bounds(project, sprint_id, exclude, anchor, side), len(tickets))
    if ranks is None:
        _rebalance(project)
        ranks = _spread(*_bounds(project, sprint_id, exclude, anchor, side), len(tickets))
    events = []
    for ticket, rank in zip(tickets, ranks, strict=True):
        if ticket.sprint_id != sprint_id:
            events.append(
                _event(
                    ticket,
                    Field.SPRINT,
                    ticket.sprint_id,
                    sprint_id,
                    actor=actor,
                    at=at,
                    note=note,
                    reassessment=reassessment,
                )
            )
            ticket.sprint = sprint
        ticket.rank = rank
        ticket.updated_at = at
    Ticket.objects.bulk_update(tickets, ["rank", "sprint", "updated_at"])
    return events


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


# --- Tickets ----------------------------------------------------------------------------
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
    locked = _lock_project(project)
    ticket.sprint = _fresh_sprint(project, sprint)
    at = clock.now()
    ticket.number = locked.ticket_counter + 1
    Project.objects.filter(pk=project.pk).update(ticket_counter=ticket.number)
    project.ticket_counter = ticket.number
    ticket.rank = _next_rank(project)
    ticket.created_at = at
    ticket.save()
    TicketEvent.objects.create(
        ticket=ticket, actor=actor, field=Field.CREATED, old=None, new=_state(ticket), created_at=at
    )
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
        _lock_project(project)
    current = Ticket.objects.select_for_update(of=("self",)).select_related("sprint").get(pk=ticket.pk)
    current.project = project
    at = clock.now()
    events: list[TicketEvent] = []
    fields: list[str] = []
    plain = {
        "title": title,
        "description": description,
        "work_type": work_type,
        "question": question,
        "hypothesis": hypothesis,
        "deliverable_url": deliverable_url,
    }
    for name, value in plain.items():
        if value is not UNSET and getattr(current, name) != value:
            setattr(current, name, value.strip() if name == "title" else value)
            fields.append(name)
    if kind is not UNSET and kind != current.kind:
        events.append(_event(current, Field.KIND, current.kind, kind, actor=actor, at=at, reassessment=reassessment))
        current.kind = kind
        fields.append("kind")
    if estimate is not UNSET and estimate != current.estimate:
        events.append(
            _event(current, Field.ESTIMATE, current.estimate, estimate, actor=actor, at=at, reassessment=reassessment)
        )
        current.estimate = estimate
        fields.append("estimate")
    if assignee is not UNSET and (assignee.pk if assignee else None) != current.assignee_id:
        _check_assignee(project, assignee)
        events.append(
            _event(
                current,
                Field.ASSIGNEE,
                current.assignee_id,
                assignee.pk if assignee else None,
                actor=actor,
                at=at,
                reassessment=reassessment,
            )
        )
        current.assignee = assignee
        fields.append("assignee")
    if epic is not UNSET and (epic.pk if epic else None) != current.epic_id:
        _check_epic(project, epic)
        events.append(
            _event(
                current,
                Field.EPIC,
                current.epic_id,
                epic.pk if epic else None,
                actor=actor,
                at=at,
                reassessment=reassessment,
            )
        )
        current.epic = epic
        fields.append("epic")
    if status is not UNSET:
        fields += _transition(
            current, status, key=key, reason=skip_reason, actor=actor, at=at, events=events, reassessment=reassessment
        )
    _validate_fields(current, fields)
    _check_done_rule(current, key)
    if fields:
        current.updated_at = at
        current.save(update_fields=[*fields, "updated_at"])
    if sprint is not UNSET and (sprint.pk if sprint else None) != current.sprint_id:
        _refuse_if_frozen(current, "sprint", key)
        destination = _fresh_sprint(project, sprint)
        events += _place(project, [current], destination, actor=actor, at=at, reassessment=reassessment)
    TicketEvent.objects.bulk_create(events)
    return current


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
        events.append(_event(current, Field.ANSWER, current.answer or None, answer, actor=actor, at=at))
        current.answer = answer
        current.answered_at = at
        fields += ["answer", "answered_at"]
    if outcome != current.outcome:
        events.append(_event(current, Field.OUTCOME, current.outcome or None, outcome, actor=actor, at=at))
        current.outcome = outcome
        fields.append("outcome")
    if current.status != TicketStatus.DONE:
        fields += _transition(current, TicketStatus.DONE, key=key, reason="", actor=actor, at=at, events=events)
    if fields:
        current.updated_at = at
        current.save(update_fields=[*fields, "updated_at"])
        TicketEvent.objects.bulk_create(events)
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


@transaction.atomic
def tickets_move(
    *,
    project: Project,
    actor: AbstractBaseUser | None,
    keys: Sequence[str],
    sprint_id: int | None,
    before: str | None = None,
    after: str | None = None,
) -> list[Ticket]:
    """Move tickets ``keys`` (kept in this order) into sprint ``sprint_id`` (None: the backlog).

    They land just before ticket ``before`` or just after ``after`` (which must be in that
    list), or at its bottom when neither is given. One transaction under the project lock,
    with a constant number of queries whatever the number of tickets.
    """
    keys = [str(k).strip() for k in keys]
    if not keys:
        raise ValidationError({"tickets": "Name at least one ticket to move."})
    if len(keys) > MOVE_LIMIT:
        raise ValidationError({"tickets": f"Move at most {MOVE_LIMIT} tickets at once ({len(keys)} given)."})
    if before and after:
        raise ValidationError({"before": "Give either before or after, not both."})
    numbers = [_number_from_key(project, k, "tickets") for k in keys]
    seen: set[int] = set()
    for key, number in zip(keys, numbers, strict=True):
        if number in seen:
            raise ValidationError({"tickets": f"{key} is listed twice."})
        seen.add(number)
    anchor_field, anchor_key = ("before", before) if before else ("after", after)
    anchor_number = _number_from_key(project, anchor_key, anchor_field) if anchor_key else None
    if anchor_number in seen:
        raise ValidationError({anchor_field: f"{anchor_key} is one of the tickets being moved."})

    _lock_project(project)
    wanted = [*numbers, anchor_number] if anchor_number else numbers
    found = {
        t.number: t
        for t in Ticket.objects.select_for_update(of=("self",))
        .select_related("sprint")
        .filter(project=project, number__in=wanted)
        .order_by("id")
    }
    for key, number in zip(keys, numbers, strict=True):
        if number not in found:
            raise ValidationError({"tickets": f"There is no ticket {key}."})
    if anchor_number and anchor_number not in found:
        raise ValidationError({anchor_field: f"There is no ticket {anchor_key}."})
    destination = None
    if sprint_id is not None:
        destination = Sprint.objects.filter(project=project, pk=sprint_id).first()
        if destination is None:
            raise ValidationError({"sprint": f"There is no sprint {sprint_id} in {project.key}."})
        if destination.state == SprintState.CLOSED:
            raise ValidationError({"sprint": f"{destination.name} is closed; closed sprints are frozen."})
    moving = [found[n] for n in numbers]
    for key, ticket in zip(keys, moving, strict=True):
        _refuse_if_frozen(ticket, "tickets", key)
    anchor = found.get(anchor_number) if anchor_number else None
    if anchor is not None and anchor.sprint_id != sprint_id:
        raise ValidationError(
            {
                anchor_field: f"{anchor_key} is in {_where(anchor.sprint)}, not in {_where(destination)}; "
                "reload to see the current plan."
            }
        )
    at = clock.now()
    side = anchor_field if anchor is not None else "end"
    events = _place(project, moving, destination, anchor=anchor, side=side, actor=actor, at=at)
    TicketEvent.objects.bulk_create(events)
    for ticket in moving:
        ticket.project = project
    return moving


# --- Sprints ----------------------------------------------------------------------------
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
    _lock_project(project)
    sprint = Sprint.objects.get(pk=sprint.pk)
    if sprint.state != SprintState.PLANNED:
        raise ValidationError({"state": f"{sprint.name} is {sprint.state}; only planned sprints can be deleted."})
    tickets = list(Ticket.objects.select_for_update(of=("self",)).filter(sprint=sprint).order_by("rank", "id"))
    if tickets:
        events = _place(
            project, tickets, None, side="start", actor=actor, at=clock.now(), note=f"{sprint.name} was deleted"
        )
        TicketEvent.objects.bulk_create(events)
    sprint.delete()


@transaction.atomic
def sprint_start(*, sprint: Sprint, actor: AbstractBaseUser | None) -> Sprint:
    """Start a planned sprint; what it holds now is what the team committed to."""
    project = sprint.project
    _lock_project(project)
    fresh = Sprint.objects.get(pk=sprint.pk)
    if fresh.state != SprintState.PLANNED:
        raise ValidationError({"state": f"{fresh.name} is {fresh.state}; only a planned sprint can start."})
    active = Sprint.objects.filter(project=project, state=SprintState.ACTIVE).first()
    if active is not None:
        raise ValidationError({"state": f"{active.name} is still active; close it before starting {fresh.name}."})
    numbers = Ticket.objects.filter(sprint=fresh).order_by("number").values_list("number", flat=True)
    fresh.state = SprintState.ACTIVE
    fresh.started_at = clock.now()
    fresh.committed = [_ticket_key(project, n) for n in numbers]
    try:
        with transaction.atomic():
            fresh.save(update_fields=["state", "started_at", "committed"])
    except IntegrityError:
        raise ValidationError({"state": "Another sprint was started at the same moment; reload."}) from None
    fresh.project = project
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
        key = _ticket_key(project, number)
        if field == Field.CREATED or new == sprint.pk:
            entered.add(key)
        if field == Field.SPRINT and old == sprint.pk:
            left.add(key)
    in_sprint = {_ticket_key(project, t.number): t for t in current}

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
    _lock_project(project)
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
        TicketEvent.objects.bulk_create(
            _place(project, unfinished, target, side="start", actor=actor, at=at, note=note)
        )
    fresh.state = SprintState.CLOSED
    fresh.closed_at = at
    fresh.snapshot = snapshot
    fresh.save(update_fields=["state", "closed_at", "snapshot"])
    fresh.project = project
    return fresh


# --- Epics ------------------------------------------------------------------------------
def epic_create(
    *, project: Project, title: str, goal: str, description: str = "", status: str = EpicStatus.OPEN
) -> Epic:
    top = Epic.objects.filter(project=project).aggregate(top=Max("order"))["top"]
    epic = Epic(
        project=project,
        title=(title or "").strip(),
        goal=(goal or "").strip(),
        description=description,
        status=status,
        order=(top or 0) + 1,
    )
    epic.full_clean(exclude=["project"])
    epic.save()
    return epic


def epic_update(
    *,
    epic: Epic,
    title: str = UNSET,
    goal: str = UNSET,
    description: str = UNSET,
    status: str = UNSET,
    order: int = UNSET,
) -> Epic:
    changes = {"title": title, "goal": goal, "description": description, "status": status, "order": order}
    changes = {k: v for k, v in changes.items() if v is not UNSET}
    for name, value in changes.items():
        setattr(epic, name, value.strip() if name in ("title", "goal") else value)
    epic.full_clean(exclude=["project"])
    if changes:
        epic.save(update_fields=list(changes))
    return epic


def epic_delete(*, epic: Epic) -> None:
    """Delete an epic without tickets (tickets keep their history: drop the epic instead)."""
    count = epic.tickets.count()
    if count:
        raise ValidationError(
            {
                "epic": f"{epic.title} has {count} ticket{'s' if count != 1 else ''}; move them or mark the epic "
                "dropped instead."
            }
        )
    epic.delete()


# --- Comments ---------------------------------------------------------------------------
def comment_create(*, ticket: Ticket, author: AbstractBaseUser, body: str) -> Comment:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something: the comment is empty."})
    return Comment.objects.create(ticket=ticket, author=author, body=body, created_at=clock.now())


def comment_update(*, comment: Comment, body: str) -> Comment:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something: the comment is empty."})
    comment.body = body
    comment.save(update_fields=["body", "updated_at"])
    return comment


def comment_delete(*, comment: Comment) -> None:
    comment.delete()


# --- Reassessment -----------------------------------------------------------------------
EDITABLE_IN_REASSESSMENT = ("title", "kind", "work_type", "estimate")


@dataclass(frozen=True)
class DecisionInput:
    """One ticket's fate in a reassessment. ``changes`` (for edits) may hold title, kind, work_type, estimate."""

    ticket: str
    decision: str
    reason: str = ""
    changes: dict[str, Any] = dataclass_field(default_factory=dict)


@transaction.atomic
def reassessment_create(
    *,
    question: Ticket,
    actor: AbstractBaseUser | None,
    decisions: Sequence[DecisionInput],
    note: str = "",
) -> Reassessment:
    """Record and apply what the answer to ``question`` changes: keep, skip, send to backlog or edit tickets."""
    project = question.project
    qkey = question.key
    if question.kind != TicketKind.QUESTION:
        raise ValidationError({"question": f"{qkey} is a code ticket; reassess after answering a question."})
    if not decisions:
        raise ValidationError({"decisions": "Decide about at least one ticket."})
    _lock_project(project)
    fresh_question = Ticket.objects.get(pk=question.pk)
    if not fresh_question.outcome:
        raise ValidationError({"question": f"{qkey} has no answer yet; answer it before reassessing."})
    numbers: list[int] = []
    for i, item in enumerate(decisions):
        number = _number_from_key(project, item.ticket, f"decisions[{i}].ticket")
        if number in numbers:
            raise ValidationError({f"decisions[{i}].ticket": f"{item.ticket} is listed twice."})
        if number == question.number:
            raise ValidationError({f"decisions[{i}].ticket": f"{qkey} is the question being reassessed."})
        numbers.append(number)
    found = {
        t.number: t
        for t in Ticket.objects.select_for_update(of=("self",))
        .select_related("sprint")
        .filter(project=project, number__in=numbers)
        .order_by("id")
    }
    for i, (item, number) in enumerate(zip(decisions, numbers, strict=True)):
        where = f"decisions[{i}]"
        ticket = found.get(number)
        if ticket is None:
            raise ValidationError({f"{where}.ticket": f"There is no ticket {item.ticket}."})
        if not ticket.is_open:
            raise ValidationError(
                {
                    f"{where}.ticket": f"{item.ticket} is {ticket.get_status_display().lower()}; only open tickets "
                    "are reassessed."
                }
            )
        if item.decision not in Decision.values:
            raise ValidationError(
                {f"{where}.decision": f"{item.decision!r} is not one of {', '.join(Decision.values)}."}
            )
        if item.decision == Decision.SKIP and not item.reason.strip():
            raise ValidationError({f"{where}.reason": f"Say why {item.ticket} is skipped: skipping needs a reason."})
        if item.decision == Decision.BACKLOG and ticket.sprint_id is None:
            raise ValidationError({f"{where}.decision": f"{item.ticket} is already in the backlog."})
        if item.decision == Decision.EDIT:
            unknown = set(item.changes) - set(EDITABLE_IN_REASSESSMENT)
            if unknown:
                raise ValidationError(
                    {
                        f"{where}.changes": f"Only {', '.join(EDITABLE_IN_REASSESSMENT)} can be edited here, "
                        f"not {', '.join(sorted(unknown))}."
                    }
                )
            if not item.changes:
                raise ValidationError({f"{where}.changes": f"Say what changes in {item.ticket}."})

    at = clock.now()
    reassessment = Reassessment.objects.create(
        project=project,
        question=fresh_question,
        actor=actor,
        outcome=fresh_question.outcome,
        note=(note or "").strip(),
        created_at=at,
    )
    rows = []
    to_backlog = []
    for i, (item, number) in enumerate(zip(decisions, numbers, strict=True)):
        ticket = found[number]
        ticket.project = project
        changes: dict[str, list[Any]] = {}
        try:
            if item.decision == Decision.SKIP:
                ticket_update(
                    ticket=ticket,
                    actor=actor,
                    status=TicketStatus.SKIPPED,
                    skip_reason=item.reason,
                    reassessment=reassessment,
                )
            elif item.decision == Decision.EDIT:
                before = {name: getattr(ticket, name) for name in item.changes}
                updated = ticket_update(ticket=ticket, actor=actor, reassessment=reassessment, **item.changes)
                changes = {
                    name: [before[name], getattr(updated, name)]
                    for name in item.changes
                    if before[name] != getattr(updated, name)
                }
            elif item.decision == Decision.BACKLOG:
                to_backlog.append(ticket)
        except ValidationError as error:
            raise ValidationError({f"decisions[{i}].{k}": v for k, v in error.message_dict.items()}) from None
        rows.append(
            ReassessmentDecision(
                reassessment=reassessment,
                ticket=ticket,
                decision=item.decision,
                reason=item.reason.strip(),
                changes=changes,
            )
        )
    if to_backlog:
        note_text = f"Sent to the backlog after {qkey} was answered"
        TicketEvent.objects.bulk_create(
            _place(
                project, to_backlog, None, side="start", actor=actor, at=at, note=note_text, reassessment=reassessment
            )
        )
    ReassessmentDecision.objects.bulk_create(rows)
    return reassessment


def ticket_record_run_link(
    *, ticket: Ticket, run_name: str, attached: bool, actor: AbstractBaseUser | None = None
) -> TicketEvent:
    """Record in the ticket's history that a run was attached to it or detached from it.

    Called by whoever attaches runs (the experiments app), in its own transaction, so the
    timeline says which evidence the ticket gathered and when.
    """
    old, new = (None, run_name) if attached else (run_name, None)
    event = _event(ticket, Field.RUN, old, new, actor=actor, at=clock.now())
    event.save()
    return event
