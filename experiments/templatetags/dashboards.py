"""Template helpers for the dashboards and the demo pages."""

from __future__ import annotations

import math

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import SafeString

from experiments.dashboards.material import render_note

register = template.Library()

OUTCOME_BADGE = {"supported": "text-bg-success", "refuted": "text-bg-danger", "inconclusive": "text-bg-warning"}
GOAL_BADGE = {"met": "text-bg-success", "partly": "text-bg-warning", "not_met": "text-bg-danger"}
VERDICT_BADGE = {
    "better": "text-bg-success",
    "worse": "text-bg-danger",
    "no_significant_difference": "text-bg-secondary",
}
SPRINT_BADGE = {"active": "text-bg-primary", "planned": "text-bg-light border", "closed": "text-bg-secondary"}
STATUS_BADGE = {
    "todo": "text-bg-light border",
    "in_progress": "text-bg-info",
    "review": "text-bg-warning",
    "done": "text-bg-success",
    "skipped": "text-bg-secondary",
}


@register.filter
def note_html(text: str) -> SafeString:
    """Markdown as sanitised HTML without images (the demo never loads pictures from elsewhere)."""
    return render_note(text or "")


@register.filter
def outcome_badge(outcome: str) -> str:
    return OUTCOME_BADGE.get(str(outcome), "text-bg-light border")


@register.filter
def goal_badge(verdict: str) -> str:
    return GOAL_BADGE.get(str(verdict), "text-bg-light border")


@register.filter
def verdict_badge(verdict: str) -> str:
    return VERDICT_BADGE.get(str(verdict), "text-bg-light border")


@register.filter
def sprint_badge(state: str) -> str:
    return SPRINT_BADGE.get(str(state), "text-bg-light border")


@register.filter
def ticket_status_badge(status: str) -> str:
    return STATUS_BADGE.get(str(status), "text-bg-light border")


@register.filter
def gain(value) -> str:
    """A metric change with its sign, four significant digits; a dash when unknown."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if value == 0:
        return "±0"
    return f"{value:+.4g}"


@register.filter
def gain_any(values) -> bool:
    """Whether any of the gains is known (a row of unknowns is left out)."""
    return any(v is not None for v in values or ())


@register.filter
def gain_class(value) -> str:
    if value is None or value == 0:
        return "text-muted"
    return "text-success" if value > 0 else "text-danger"


@register.filter
def value4(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.4g}"


@register.simple_tag
def url_or_empty(name: str, *args) -> str:
    """``reverse(name, args)`` or "" when that page does not exist (pages owned by other areas)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""
