"""Badges and Markdown for planning pages.

Badges are filters returning prebuilt HTML strings: a backlog renders a thousand rows,
and a dictionary lookup is much cheaper than an included template per badge.
"""

from __future__ import annotations

import functools
from html import escape

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from tickets.markdown import render_markdown
from tickets.models import Outcome, SprintState, TicketKind, TicketStatus, WorkType

register = template.Library()

KIND_ICONS = {TicketKind.QUESTION: "bi-question-circle", TicketKind.CODE: "bi-code-slash"}
WORK_TYPE_ICONS = {
    WorkType.LITERATURE_REVIEW: "bi-book",
    WorkType.DATA_EXPLORATION: "bi-search",
    WorkType.ALGORITHM_DEVELOPMENT: "bi-cpu",
    WorkType.RESULT_ANALYSIS: "bi-bar-chart-line",
    WorkType.REVIEW: "bi-eye",
    WorkType.DEPLOYMENT: "bi-rocket-takeoff",
}
STATUS_ICONS = {
    TicketStatus.TODO: "bi-circle",
    TicketStatus.IN_PROGRESS: "bi-play-circle",
    TicketStatus.REVIEW: "bi-eye",
    TicketStatus.DONE: "bi-check-circle-fill",
    TicketStatus.SKIPPED: "bi-slash-circle",
}
OUTCOME_ICONS = {
    Outcome.SUPPORTED: "bi-check-lg",
    Outcome.REFUTED: "bi-x-lg",
    Outcome.INCONCLUSIVE: "bi-question-lg",
}
SPRINT_STATE_ICONS = {
    SprintState.PLANNED: "bi-calendar",
    SprintState.ACTIVE: "bi-lightning-charge",
    SprintState.CLOSED: "bi-lock",
}


def _badges(choices, icons: dict, css: str, title: str) -> dict[str, SafeString]:
    return {
        value: format_html(
            '<span class="badge {}-{}" title="{}: {}"><i class="bi {}"></i> {}</span>',
            css, value, title, label, icons.get(value, "bi-dot"), label,
        )
        for value, label in choices
    }  # fmt: skip


KIND_BADGES = _badges(TicketKind.choices, KIND_ICONS, "kind", "Kind")
WORK_TYPE_BADGES = _badges(WorkType.choices, WORK_TYPE_ICONS, "wt", "Work type")
STATUS_BADGES = _badges(TicketStatus.choices, STATUS_ICONS, "status", "Status")
OUTCOME_BADGES = _badges(Outcome.choices, OUTCOME_ICONS, "outcome", "Outcome")
SPRINT_STATE_BADGES = _badges(SprintState.choices, SPRINT_STATE_ICONS, "sprint-state", "Sprint")


@register.filter
def kind_badge(value: str) -> SafeString:
    return KIND_BADGES.get(value, "")


@register.filter
def work_type_badge(value: str) -> SafeString:
    return WORK_TYPE_BADGES.get(value, "")


@register.filter
def status_badge(value: str) -> SafeString:
    return STATUS_BADGES.get(value, "")


@register.filter
def outcome_badge(value: str) -> SafeString:
    return OUTCOME_BADGES.get(value, "")


@register.filter
def sprint_state_badge(value: str) -> SafeString:
    return SPRINT_STATE_BADGES.get(value, "")


@register.filter
def markdown(text: str) -> SafeString:
    """Markdown rendered and sanitised (no script or event handler survives)."""
    return render_markdown(text or "")


@register.filter
def markdown_in(text: str, project) -> SafeString:
    """Markdown as :func:`markdown`, with ``@member`` of ``project`` linked to their tickets."""
    from tickets.selectors import mention_links

    # Members are looked up (once per page) only for a text that can mention anyone.
    if not text or "@" not in text:
        return render_markdown(text or "")
    return render_markdown(text, mentions=mention_links(project=project))


@register.filter
def initials(user) -> str:
    if user is None:
        return ""
    first, last = (user.first_name or "").strip(), (user.last_name or "").strip()
    if first or last:
        return ((first[:1] + last[:1]) or first[:2]).upper()
    return user.get_username()[:2].upper()


@register.filter
def person(user) -> str:
    if user is None:
        return "Unassigned"
    return user.get_full_name() or user.get_username()


@register.simple_tag
def avatar(user) -> SafeString:
    if user is None:
        return mark_safe('<span class="avatar avatar-empty" title="Unassigned"><i class="bi bi-person"></i></span>')
    return format_html('<span class="avatar" title="{}">{}</span>', person(user), initials(user))


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key) if mapping else None


# One backlog row, built as one string: a plan shows up to a few thousand rows, and an
# included template (or even format_html) per row costs many times more. Every value that
# comes from a user goes through html.escape, as the template engine would do. Icons are the
# element's own ``bi`` class rather than a child <i>: the bytes add up over a page of rows.
_HANDLE = (
    '<span class="drag-handle bi bi-grip-vertical" title="Drag to rank, or into a sprint"></span>'
    '<input class="form-check-input m-0" type="checkbox" data-select aria-label="Select {key}">'
)


def _avatar_html(user) -> str:
    if user is None:
        return '<span class="avatar avatar-empty bi bi-person" title="Unassigned"></span>'
    return f'<span class="avatar" title="{escape(person(user))}">{escape(initials(user))}</span>'


@register.simple_tag
def ticket_row(ticket, can_plan: bool = False) -> SafeString:
    """A ticket as a row of the backlog or a sprint panel (drag handle and checkbox for planners)."""
    key = escape(ticket.key)
    title = escape(ticket.title)
    url = f"/t/{key}/"
    parts = [
        f'<li class="ticket-row{"" if ticket.is_open else " is-closed"}" data-key="{key}">',
        _HANDLE.format(key=key) if can_plan else "",
        f'<div class="ticket-main"><div class="ticket-line"><a class="ticket-key" href="{url}">{key}</a> '
        f'<a class="ticket-title" href="{url}" title="{title}">{title}</a></div><div class="ticket-meta">',
        KIND_BADGES.get(ticket.kind, ""),
        WORK_TYPE_BADGES.get(ticket.work_type, ""),
        STATUS_BADGES.get(ticket.status, "") if ticket.status != TicketStatus.TODO else "",
        OUTCOME_BADGES.get(ticket.outcome, "") if ticket.outcome else "",
    ]
    if ticket.epic is not None:
        epic = escape(ticket.epic.title)
        parts.append(f'<span class="epic-chip" title="Epic: {epic}"><i class="bi bi-flag"></i> {epic}</span>')
    parts.append("</div></div>")
    if ticket.estimate is not None:
        parts.append(f'<span class="estimate-pill" title="Estimate">{int(ticket.estimate)}</span>')
    parts.append(_avatar_html(ticket.assignee))
    parts.append("</li>")
    return mark_safe("".join(parts))  # noqa: S308 - user values escaped above, badges are built from choices


@functools.cache
def _ticket_urls() -> tuple[str, str]:
    """The page and API URL of a ticket, with ``{key}`` where the key goes (reversed once)."""
    marker = "KEY-0"
    page = reverse("ticket-detail", args=[marker]).replace(marker, "{key}")
    api = reverse("api-ticket-detail", args=[marker]).replace(marker, "{key}")
    return page, api


@register.simple_tag
def board_card(ticket, can_edit: bool = False) -> SafeString:
    """A ticket as a card of the board, built as one string like ``ticket_row`` (what
    an included template rendered per card, at a fraction of the cost)."""
    key = escape(ticket.key)
    page, api = _ticket_urls()
    page = page.format(key=key)
    parts = [
        f'<li class="board-card{" draggable" if can_edit else ""}" data-key="{key}" '
        f'data-status="{escape(ticket.status)}" data-url="{api.format(key=key)}" data-testid="card-{key}">'
        f'<div class="d-flex justify-content-between align-items-center"><a class="ticket-key" href="{page}">{key}</a>',
        '<i class="bi bi-grip-horizontal drag-handle" title="Drag to another column"></i>' if can_edit else "",
        f'</div><a class="card-title-link" href="{page}">{escape(ticket.title)}</a>'
        '<div class="d-flex flex-wrap gap-1 align-items-center">',
        KIND_BADGES.get(ticket.kind, ""),
        WORK_TYPE_BADGES.get(ticket.work_type, ""),
        OUTCOME_BADGES.get(ticket.outcome, "") if ticket.outcome else "",
    ]
    if ticket.epic_id:
        epic = escape(ticket.epic.title)
        parts.append(
            '<span class="badge text-bg-light border text-truncate epic-badge" data-testid="card-epic" '
            f'title="Epic: {epic}"><i class="bi bi-collection"></i> {epic}</span>'
        )
    parts.append('<span class="ms-auto d-flex align-items-center gap-1">')
    if ticket.estimate is not None:
        parts.append(f'<span class="estimate-pill">{escape(str(ticket.estimate))}</span>')
    parts.append(avatar(ticket.assignee))
    parts.append("</span></div></li>")
    return mark_safe("".join(parts))  # noqa: S308 - user values escaped above, badges are built from choices
