"""A ticket's timeline: its history events and comments, oldest first, with ids spelled out as names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from tickets.models import (
    Comment,
    Epic,
    Outcome,
    Sprint,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketStatus,
)

User = get_user_model()


@dataclass
class TimelineEntry:
    """One line of a ticket's timeline: a change (``event``) or a ``comment``."""

    at: Any
    actor: Any
    event: TicketEvent | None = None
    comment: Comment | None = None
    label: str = ""
    old: str = ""
    new: str = ""
    icon: str = "bi-dot"


_EVENT_ICONS = {
    TicketEvent.Field.CREATED: "bi-plus-circle",
    TicketEvent.Field.STATUS: "bi-arrow-right-circle",
    TicketEvent.Field.SPRINT: "bi-calendar-range",
    TicketEvent.Field.ASSIGNEE: "bi-person",
    TicketEvent.Field.EPIC: "bi-flag",
    TicketEvent.Field.KIND: "bi-shuffle",
    TicketEvent.Field.ANSWER: "bi-chat-square-quote",
    TicketEvent.Field.OUTCOME: "bi-patch-check",
    TicketEvent.Field.ESTIMATE: "bi-123",
    TicketEvent.Field.RUN: "bi-activity",
    TicketEvent.Field.LINK: "bi-git",
}


def _referenced_ids(events: list[TicketEvent]) -> dict[str, set[int]]:
    """The sprint, epic and user ids the events mention, so their names load in one query each."""
    ids: dict[str, set[int]] = {"sprint": set(), "epic": set(), "assignee": set()}
    for event in events:
        if event.field == TicketEvent.Field.CREATED and isinstance(event.new, dict):
            values = [(name, event.new.get(name)) for name in ids]
        else:
            values = [(event.field, event.old), (event.field, event.new)]
        for field, value in values:
            if value is not None and field in ids:
                ids[field].add(value)
    return ids


@dataclass
class _Names:
    """How a timeline spells a stored value of each tracked field."""

    sprints: dict[int, str]
    epics: dict[int, str]
    users: dict[int, str]

    def show(self, field: str, value: Any) -> str:
        if field in ("sprint", "epic", "assignee"):
            return self._related(field, value)
        choices = {"status": TicketStatus, "kind": TicketKind, "outcome": Outcome}.get(field)
        if choices is not None:
            return choices(value).label if value in choices.values else ("none" if field == "outcome" else str(value))
        if field == "estimate":
            return str(value) if value is not None else "none"
        return ""

    def _related(self, field: str, value: Any) -> str:
        names, missing, empty = {
            "sprint": (self.sprints, f"sprint {value}", "Backlog"),
            "epic": (self.epics, f"epic {value}", "no epic"),
            "assignee": (self.users, "a former member", "nobody"),
        }[field]
        return names.get(value, missing) if value is not None else empty


def _event_entry(event: TicketEvent, names: _Names) -> TimelineEntry:
    entry = TimelineEntry(at=event.created_at, actor=event.actor, event=event, icon=_EVENT_ICONS.get(event.field))
    if event.field == TicketEvent.Field.CREATED:
        entry.label = "created"
        entry.new = names.show("sprint", (event.new or {}).get("sprint"))
    elif event.field == TicketEvent.Field.RUN:
        if event.note in ("deleted", "restored"):
            entry.label = f"{event.note} the run"
        else:
            entry.label = "attached the run" if event.new else "detached the run"
        entry.new = event.new or event.old or ""
    elif event.field == TicketEvent.Field.LINK:
        entry.label = "linked"
        entry.new = event.new or ""
    elif event.field == TicketEvent.Field.ANSWER:
        entry.label = "answered" if not event.old else "revised the answer"
    else:
        entry.label = TicketEvent.Field(event.field).label.lower()
        entry.old = names.show(event.field, event.old)
        entry.new = names.show(event.field, event.new)
    return entry


def ticket_timeline(*, ticket: Ticket) -> list[TimelineEntry]:
    """Events and comments, oldest first, with sprint/epic/user ids spelled out: five queries."""
    events = list(TicketEvent.objects.filter(ticket=ticket).select_related("actor", "reassessment__question"))
    comments = list(Comment.objects.filter(ticket=ticket).select_related("author"))
    ids = _referenced_ids(events)
    names = _Names(
        sprints=dict(Sprint.objects.filter(pk__in=ids["sprint"]).values_list("pk", "name")) if ids["sprint"] else {},
        epics=dict(Epic.objects.filter(pk__in=ids["epic"]).values_list("pk", "title")) if ids["epic"] else {},
        users=dict(User.objects.filter(pk__in=ids["assignee"]).values_list("pk", "username"))
        if ids["assignee"]
        else {},
    )
    entries = [_event_entry(event, names) for event in events]
    entries += [TimelineEntry(at=c.created_at, actor=c.author, comment=c, icon="bi-chat-left-text") for c in comments]
    entries.sort(key=lambda e: (e.at, 0 if e.event else 1, e.event.pk if e.event else e.comment.pk))
    return entries
