"""What a delivery's body says (no Django imports): the generic JSON envelope, or a chat message.

The chat message is the shape Slack's incoming webhooks accept, and Mattermost's and Rocket.Chat's
with them: ``text`` (the notification's fallback) plus Block Kit ``blocks`` — a ``section`` with a
``mrkdwn`` text object and a ``context`` block whose ``elements`` are text objects. Text from users
is escaped as Slack asks (``&``, ``<``, ``>``), so a title cannot forge a link or a mention.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

SECTION_MAX = 3000  # characters in a section block's text (Slack's limit)
QUOTE_MAX = 300


def escape(text: object) -> str:
    """Text for Slack's mrkdwn: ``&``, ``<`` and ``>`` as entities (nothing else needs escaping)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """A mrkdwn link; the label is escaped, and ``|`` cannot end it early."""
    return f"<{escape(url)}|{escape(label).replace('|', '¦')}>"


def sign(body: bytes, secret: str) -> str:
    """The ``X-AgileML-Signature`` header's value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def generic_body(envelope: dict[str, Any], url: str | None) -> dict[str, Any]:
    """The event as it is, with a link to what it is about."""
    return {**envelope, "url": url}


def _ticket(data: dict[str, Any], url: str | None) -> str:
    label = f"{data.get('ticket')} {data.get('title', '')}".strip()
    return link(url, label) if url else escape(label)


def _quote(text: object) -> str:
    text = str(text or "").strip()
    if len(text) > QUOTE_MAX:
        text = text[: QUOTE_MAX - 1] + "…"
    return "\n".join("> " + escape(line) for line in text.splitlines() or [""])


def _label(value: object) -> str:
    return str(value or "none").replace("_", " ")


def sentence(event_type: str, actor: str | None, data: dict[str, Any], url: str | None) -> str:
    """One line of mrkdwn saying what happened (one branch per event type, hence the length)."""
    who = f"*{escape(actor)}*" if actor else "AgileML"
    target = link(url, "Open") if url else ""
    if event_type == "ticket.created":
        return f"{who} created {_ticket(data, url)} ({escape(_label(data.get('kind')))})"
    if event_type == "ticket.status_changed":
        old, new = escape(_label(data.get("old"))), escape(_label(data.get("new")))
        text = f"{who} moved {_ticket(data, url)} from {old} to *{new}*"
        return text + (f"\n{_quote(data['note'])}" if data.get("note") else "")
    if event_type == "ticket.assigned":
        return f"{who} assigned {_ticket(data, url)} to *{escape(data.get('new') or 'nobody')}*"
    if event_type == "ticket.answered":
        outcome = escape(_label(data.get("outcome")))
        return f"{who} answered {_ticket(data, url)}: *{outcome}*\n{_quote(data.get('answer'))}"
    if event_type == "comment.created":
        return f"{who} commented on {_ticket(data, url)}\n{_quote(data.get('body'))}"
    if event_type == "sprint.started":
        name = link(url, data.get("name", "")) if url else escape(data.get("name", ""))
        return f"{who} started sprint {name} ({escape(data.get('start_date'))} – {escape(data.get('end_date'))})"
    if event_type == "sprint.closed":
        return (
            f"{who} closed sprint {escape(data.get('name', ''))}: {data.get('done', 0)} done, "
            f"{data.get('carried_over', 0)} carried over {target}"
        ).strip()
    if event_type in ("run.attached", "run.detached"):
        verb = "attached run" if event_type == "run.attached" else "detached run"
        return f"{who} {verb} *{escape(data.get('run'))}* {'to' if verb[0] == 'a' else 'from'} {_ticket(data, url)}"
    if event_type == "evaluation.finished":
        head = f"Evaluation of *{escape(data.get('run'))}* on {escape(data.get('benchmark_name'))}"
        verdict = escape(_label(data.get("verdict") or data.get("status")))
        text = f"{head} finished: *{verdict}*"
        if data.get("sentence"):
            text += f"\n{escape(data['sentence'])}"
        return text + (f"\n{target}" if target else "")
    if event_type == "champion.promoted":
        text = f"{who} promoted *{escape(data.get('run'))}* to champion of {escape(data.get('benchmark_name'))}"
        if data.get("previous_run"):
            text += f" (was {escape(data['previous_run'])})"
        if not data.get("gate_allowed") and data.get("override_reason"):
            text += f"\nGate overridden: {_quote(data['override_reason'])}"
        return text + (f"\n{target}" if target else "")
    if event_type == "webhook.disabled":
        return f"A webhook to {escape(data.get('url'))} was turned off: {escape(data.get('reason'))}"
    return f"{who}: {escape(event_type)} {target}".strip()


def slack_body(envelope: dict[str, Any], url: str | None) -> dict[str, Any]:
    """A chat message for Slack-compatible incoming webhooks."""
    text = sentence(envelope["type"], envelope.get("actor"), envelope.get("data", {}), url)
    if len(text) > SECTION_MAX:
        text = text[: SECTION_MAX - 1] + "…"
    context = f"{escape(envelope['project'])} · {escape(envelope['type'])}"
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    }
