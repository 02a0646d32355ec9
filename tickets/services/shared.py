"""Pieces every planning service uses: the UNSET marker, the project lock, ticket keys, sprint checks.

Lock order, so concurrent requests never deadlock: the project row first (every
change of a ticket's sprint or rank, ticket creation and sprint start/close take
it), then ticket rows in id order. Status-only changes lock just the ticket row."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from tickets.models import (
    Project,
    Sprint,
    SprintState,
    Ticket,
)


class _Unset:
    """Marks a keyword argument the caller did not pass (``None`` is a real value)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def lock_project(project: Project) -> Project:
    return Project.objects.select_for_update().get(pk=project.pk)


def where_label(sprint: Sprint | None) -> str:
    return sprint.name if sprint is not None else "the backlog"


def format_ticket_key(project: Project, number: int) -> str:
    return f"{project.key}-{number}"


def number_from_key(project: Project, key: str, field: str) -> int:
    prefix, sep, number = str(key).strip().rpartition("-")
    if not sep or not (number.isascii() and number.isdigit()):
        raise ValidationError({field: f"{key!r} is not a ticket key; keys look like {project.key}-12."})
    if prefix != project.key:
        raise ValidationError({field: f"{key} is not a ticket of {project.key}."})
    return int(number)


def fresh_sprint(project: Project, sprint: Sprint | None, field: str = "sprint") -> Sprint | None:
    """Re-read ``sprint`` (its state may have changed) and refuse closed or foreign sprints."""
    if sprint is None:
        return None
    fresh = Sprint.objects.filter(project=project, pk=sprint.pk).first()
    if fresh is None:
        raise ValidationError({field: f"There is no sprint {sprint.pk} in {project.key}."})
    if fresh.state == SprintState.CLOSED:
        raise ValidationError({field: f"{fresh.name} is closed; closed sprints are frozen."})
    return fresh


def refuse_if_frozen(ticket: Ticket, field: str, key: str) -> None:
    if ticket.sprint is not None and ticket.sprint.state == SprintState.CLOSED:
        raise ValidationError(
            {field: f"{key} belongs to the closed sprint {ticket.sprint.name}; closed sprints are frozen."}
        )
