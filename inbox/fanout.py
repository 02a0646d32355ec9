"""Who hears about a domain event, and what they are told (pure: no Django, no queries).

:func:`plan` turns one event, the project's members and the ticket's watchers into the
notifications to write and the watchers to add. The rules:

- ticket events (assigned, status changed, answered) go to the ticket's watchers; the new
  assignee and anyone ``@mentioned`` are told too, and become watchers, as do a ticket's author
  and whoever comments;
- an evaluation's verdict goes to its run's ticket's watchers and to whoever asked for it;
- a promoted champion to the project's leads and the run's ticket's watchers;
- a sprint started or closed to every member;
- nobody is told about what they did themselves (the requester of an evaluation did not
  finish it, so they are told), and only current members of the project are told anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

# Event types (mirrors agileml.events, kept as strings so this module stays pure).
TICKET_CREATED = "ticket.created"
TICKET_STATUS_CHANGED = "ticket.status_changed"
TICKET_ASSIGNED = "ticket.assigned"
TICKET_ANSWERED = "ticket.answered"
COMMENT_CREATED = "comment.created"
SPRINT_STARTED = "sprint.started"
SPRINT_CLOSED = "sprint.closed"
EVALUATION_FINISHED = "evaluation.finished"
CHAMPION_PROMOTED = "champion.promoted"
WEBHOOK_DISABLED = "webhook.disabled"
HANDLED = {
    TICKET_CREATED, TICKET_STATUS_CHANGED, TICKET_ASSIGNED, TICKET_ANSWERED, COMMENT_CREATED,
    SPRINT_STARTED, SPRINT_CLOSED, EVALUATION_FINISHED, CHAMPION_PROMOTED, WEBHOOK_DISABLED,
}  # fmt: skip
# Events that concern one ticket, named in the payload's "ticket".
TICKET_EVENTS = HANDLED - {SPRINT_STARTED, SPRINT_CLOSED, WEBHOOK_DISABLED}

VERDICT_WORDS = {
    "better": "better than the champion",
    "worse": "worse than the champion",
    "no_significant_difference": "no significant difference from the champion",
    "insufficient_data": "not enough data for a verdict",
}


@dataclass(frozen=True)
class Member:
    id: int
    username: str
    role: str


@dataclass
class Plan:
    """Notifications as ``{user_id: (kind, text)}`` and the user ids to add as watchers."""

    notify: dict[int, tuple[str, str]] = field(default_factory=dict)
    watch: set[int] = field(default_factory=set)

    def tell(self, user_ids: Iterable[int], kind: str, text: str) -> None:
        for user_id in user_ids:
            self.notify.setdefault(user_id, (kind, text))


def _ticket_label(payload: dict[str, Any]) -> str:
    return f"{payload.get('ticket')} “{payload.get('title', '')}”"


def plan(
    event_type: str,
    payload: dict[str, Any],
    *,
    actor_id: int | None,
    actor_name: str | None,
    members: dict[int, Member],
    watchers: set[int],
    mentioned: Callable[[str], set[str]],
    ticket_text: str = "",
) -> Plan:
    """The notifications and new watchers for one event. ``mentioned(text)`` names the members a
    Markdown text mentions; ``ticket_text`` is a new ticket's description."""
    by_name = {m.username: m.id for m in members.values()}
    who = actor_name or "Someone"
    result = Plan()
    label = _ticket_label(payload)

    def mentions(text: str) -> set[int]:
        return {by_name[name] for name in mentioned(text or "") if name in by_name}

    if event_type == TICKET_CREATED:
        result.watch |= {actor_id} if actor_id else set()
        assignee = by_name.get(payload.get("assignee") or "")
        if assignee:
            result.watch.add(assignee)
            result.tell([assignee], "assigned", f"{who} assigned {label} to you")
        named = mentions(ticket_text)
        result.tell(named, "mentioned", f"{who} mentioned you in {label}")
        result.watch |= named
    elif event_type == TICKET_ASSIGNED:
        assignee = by_name.get(payload.get("new") or "")
        if assignee:
            result.watch.add(assignee)
            result.tell([assignee], "assigned", f"{who} assigned {label} to you")
        target = payload.get("new") or "nobody"
        result.tell(watchers, "assigned", f"{who} assigned {label} to {target}")
    elif event_type == TICKET_STATUS_CHANGED:
        result.tell(
            watchers, "status_changed", f"{who} moved {label} from {payload.get('old')} to {payload.get('new')}"
        )
    elif event_type == TICKET_ANSWERED:
        named = mentions(payload.get("answer", ""))
        result.tell(named, "mentioned", f"{who} mentioned you in the answer to {label}")
        result.watch |= named
        outcome = payload.get("outcome") or "answered"
        result.tell(watchers, "answered", f"{who} answered {label}: {outcome}")
    elif event_type == COMMENT_CREATED:
        result.watch |= {actor_id} if actor_id else set()
        named = mentions(payload.get("body", ""))
        result.tell(named, "mentioned", f"{who} mentioned you in a comment on {label}")
        result.watch |= named
    elif event_type == EVALUATION_FINISHED:
        verdict = payload.get("verdict")
        outcome = VERDICT_WORDS.get(verdict, verdict) if verdict else payload.get("status", "finished")
        text = f"Evaluation of {payload.get('run')} on {payload.get('benchmark_name')} finished: {outcome}"
        sentence = payload.get("sentence")
        if sentence:
            text = f"{text}. {sentence}"
        # Whoever asked is told: the worker finished it, not them.
        result.tell([actor_id] if actor_id else [], "evaluation_finished", text)
        result.tell(watchers, "evaluation_finished", text)
        return _only_members(result, members, skip=None)
    elif event_type == CHAMPION_PROMOTED:
        text = f"{who} promoted {payload.get('run')} to champion of {payload.get('benchmark_name')}"
        result.tell([m.id for m in members.values() if m.role == "lead"], "champion_promoted", text)
        result.tell(watchers, "champion_promoted", text)
    elif event_type in (SPRINT_STARTED, SPRINT_CLOSED):
        if event_type == SPRINT_STARTED:
            text = (
                f"{who} started sprint {payload.get('name')} ({payload.get('start_date')} – {payload.get('end_date')})"
            )
            kind = "sprint_started"
        else:
            text = (
                f"{who} closed sprint {payload.get('name')}: {payload.get('done', 0)} done, "
                f"{payload.get('carried_over', 0)} carried over"
            )
            kind = "sprint_closed"
        result.tell(members, kind, text)
    elif event_type == WEBHOOK_DISABLED:
        text = f"A webhook to {payload.get('url')} failed for a day and was turned off; fix the receiver and turn it on"
        result.tell([m.id for m in members.values() if m.role == "lead"], "webhook_disabled", text)
    return _only_members(result, members, skip=actor_id)


def _only_members(result: Plan, members: dict[int, Member], *, skip: int | None) -> Plan:
    result.notify = {uid: note for uid, note in result.notify.items() if uid in members and uid != skip}
    result.watch = {uid for uid in result.watch if uid in members}
    return result
