"""Ranks: where tickets stand in the backlog and in each sprint, and bulk moves between lists."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max, Q

from tickets import clock
from tickets.models import (
    Project,
    Reassessment,
    Sprint,
    SprintState,
    Ticket,
    TicketEvent,
)
from tickets.services.history import Field, new_event, record_events
from tickets.services.shared import lock_project, number_from_key, refuse_if_frozen, where_label
from tickets.versions import project_touch

# Space between neighbouring ranks after a rebalance: 2^24 lets ~24 successive
# "move between the same two tickets" happen before the project is renumbered.
GAP = 1 << 24


# Ranks beyond this trigger a rebalance long before a BigInteger would overflow.
RANK_LIMIT = 1 << 62


# The most tickets one bulk move may carry (a backlog screen's worth).
MOVE_LIMIT = 500


def next_rank(project: Project) -> int:
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


def place_tickets(
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
                new_event(
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
    if tickets:
        project_touch(project_id=tickets[0].project_id)
    return events


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
    anchor_field, anchor_key = _anchor(before, after)
    numbers = _move_numbers(project, keys)
    anchor_number = number_from_key(project, anchor_key, anchor_field) if anchor_key else None
    if anchor_number in numbers:
        raise ValidationError({anchor_field: f"{anchor_key} is one of the tickets being moved."})

    lock_project(project)
    found = _locked_tickets(project, [*numbers, anchor_number] if anchor_number else numbers)
    for key, number in zip(keys, numbers, strict=True):
        if number not in found:
            raise ValidationError({"tickets": f"There is no ticket {key}."})
    if anchor_number and anchor_number not in found:
        raise ValidationError({anchor_field: f"There is no ticket {anchor_key}."})
    destination = _open_sprint(project, sprint_id)
    moving = [found[n] for n in numbers]
    for key, ticket in zip(keys, moving, strict=True):
        refuse_if_frozen(ticket, "tickets", key)
    anchor = found.get(anchor_number) if anchor_number else None
    if anchor is not None and anchor.sprint_id != sprint_id:
        raise ValidationError(
            {
                anchor_field: f"{anchor_key} is in {where_label(anchor.sprint)}, not in {where_label(destination)}; "
                "reload to see the current plan."
            }
        )
    side = anchor_field if anchor is not None else "end"
    events = place_tickets(project, moving, destination, anchor=anchor, side=side, actor=actor, at=clock.now())
    record_events(events)
    for ticket in moving:
        ticket.project = project
    return moving


def _move_numbers(project: Project, keys: list[str]) -> list[int]:
    """The ticket numbers of ``keys``, none twice."""
    numbers: list[int] = []
    for key in keys:
        number = number_from_key(project, key, "tickets")
        if number in numbers:
            raise ValidationError({"tickets": f"{key} is listed twice."})
        numbers.append(number)
    return numbers


def _anchor(before: str | None, after: str | None) -> tuple[str, str | None]:
    """Which neighbour the tickets land next to: ("before", key), ("after", key) or ("after", None)."""
    if before and after:
        raise ValidationError({"before": "Give either before or after, not both."})
    return ("before", before) if before else ("after", after)


def _locked_tickets(project: Project, numbers: list[int]) -> dict[int, Ticket]:
    """Tickets ``numbers`` of ``project`` by number, locked in id order (the lock order)."""
    rows = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("sprint")
        .filter(project=project, number__in=numbers)
        .order_by("id")
    )
    return {t.number: t for t in rows}


def _open_sprint(project: Project, sprint_id: int | None) -> Sprint | None:
    """Sprint ``sprint_id`` of ``project`` if it is not closed (None: the backlog)."""
    if sprint_id is None:
        return None
    destination = Sprint.objects.filter(project=project, pk=sprint_id).first()
    if destination is None:
        raise ValidationError({"sprint": f"There is no sprint {sprint_id} in {project.key}."})
    if destination.state == SprintState.CLOSED:
        raise ValidationError({"sprint": f"{destination.name} is closed; closed sprints are frozen."})
    return destination
