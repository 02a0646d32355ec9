"""Domain events: what happened in a project, for whoever wants to hear it.

Services publish an event at the moment they make a change, inside their transaction::

    from agileml import events

    events.publish(events.SPRINT_STARTED, project=project, actor=actor, payload={...})

and capabilities that react (notifications, outgoing webhooks) subscribe once, in their
``AppConfig.ready()``::

    events.subscribe(on_event)   # on_event(event: events.Event) -> None

A subscriber is called synchronously, inside the publisher's transaction, so it can write its
own rows (an inbox entry, a webhook delivery) atomically with the change: if the change rolls
back, so do they, and nothing is announced that did not happen. Work that must not run inside
a request (sending mail, calling a URL) is queued by the subscriber with
``transaction.on_commit`` from the rows it wrote, so a worker that misses the message still
finds the row. A subscriber must not raise for anything but a bug: its exception aborts the
change.

This module imports nothing of the project, so planning (``tickets``) can publish without
knowing who listens.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Event types. The payload of each is documented beside it; every payload is JSON-serialisable.
TICKET_CREATED = "ticket.created"  # ticket, title, kind, status, assignee (username or None)
TICKET_STATUS_CHANGED = "ticket.status_changed"  # ticket, title, kind, old, new, note
TICKET_ASSIGNED = "ticket.assigned"  # ticket, title, kind, old, new (usernames or None)
TICKET_ANSWERED = "ticket.answered"  # ticket, title, answer (Markdown), outcome
COMMENT_CREATED = "comment.created"  # ticket, title, comment (id), body (Markdown), author
SPRINT_STARTED = "sprint.started"  # sprint (id), name, start_date, end_date, committed (ticket keys)
SPRINT_CLOSED = "sprint.closed"  # sprint (id), name, done (count), carried_over (count)
RUN_ATTACHED = "run.attached"  # ticket, title, run (name)
RUN_DETACHED = "run.detached"  # ticket, title, run (name)
EVALUATION_FINISHED = "evaluation.finished"  # benchmark, evaluation, run, verdict, sentence, gate_allowed, ticket
CHAMPION_PROMOTED = "champion.promoted"  # benchmark, run, previous_run, gate_allowed, gate_reasons, override_reason
WEBHOOK_DISABLED = "webhook.disabled"  # webhook (id), url, reason: an endpoint failed for a day and was turned off

TYPES: tuple[str, ...] = (
    TICKET_CREATED,
    TICKET_STATUS_CHANGED,
    TICKET_ASSIGNED,
    TICKET_ANSWERED,
    COMMENT_CREATED,
    SPRINT_STARTED,
    SPRINT_CLOSED,
    RUN_ATTACHED,
    RUN_DETACHED,
    EVALUATION_FINISHED,
    CHAMPION_PROMOTED,
    WEBHOOK_DISABLED,
)


@dataclass(frozen=True)
class Event:
    """One thing that happened. ``id`` is unique per event (receivers deduplicate by it)."""

    type: str
    project_id: int
    project_key: str
    actor_id: int | None
    actor_username: str | None
    payload: dict[str, Any]
    occurred_at: datetime.datetime
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def as_dict(self) -> dict[str, Any]:
        """The event as JSON-ready data (what webhooks send as their body's envelope)."""
        return {
            "id": self.id,
            "type": self.type,
            "project": self.project_key,
            "actor": self.actor_username,
            "occurred_at": self.occurred_at.isoformat(),
            "data": self.payload,
        }


Subscriber = Callable[[Event], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> Subscriber:
    """Call ``subscriber(event)`` for every event published from now on (idempotent; usable as a decorator)."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)
    return subscriber


def has_subscribers() -> bool:
    """Whether anyone listens (publishers may skip building payloads that cost queries)."""
    return bool(_subscribers)


def unsubscribe(subscriber: Subscriber) -> None:
    if subscriber in _subscribers:
        _subscribers.remove(subscriber)


def publish(
    event_type: str,
    *,
    project: Any,
    actor: Any | None,
    payload: dict[str, Any],
    at: datetime.datetime | None = None,
) -> Event:
    """Announce ``event_type`` in ``project`` (a Project), caused by ``actor`` (a user or None)."""
    if event_type not in TYPES:
        raise ValueError(f"{event_type!r} is not an event type; add it to agileml.events.TYPES.")
    actor_id = getattr(actor, "pk", None)
    event = Event(
        type=event_type,
        project_id=project.pk,
        project_key=project.key,
        actor_id=actor_id,
        actor_username=actor.get_username() if actor_id is not None else None,
        payload=payload,
        occurred_at=at or datetime.datetime.now(datetime.UTC),
    )
    for subscriber in list(_subscribers):
        subscriber(event)
    return event
