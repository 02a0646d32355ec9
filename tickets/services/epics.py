"""Writes for epics."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Max

from tickets.models import (
    Epic,
    EpicStatus,
    Project,
)
from tickets.services.shared import UNSET


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
