"""Template helpers for run pages."""

from __future__ import annotations

import math

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()

STATUS_BADGE = {
    "running": "text-bg-info",
    "finished": "text-bg-success",
    "failed": "text-bg-danger",
    "killed": "text-bg-warning",
}


@register.filter
def status_badge(status: str) -> str:
    return STATUS_BADGE.get(str(status), "text-bg-light")


@register.filter
def metric(value) -> str:
    """A metric value with four significant digits (NaN and infinities spelled out)."""
    if value is None or value == "":
        return "—"
    if hasattr(value, "is_nan"):
        if value.is_nan:
            return "NaN"
        value = value.value
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "∞" if number > 0 else "−∞"
    if number != 0 and (abs(number) >= 1e6 or abs(number) < 1e-3):
        return f"{number:.3e}"
    return f"{number:.4g}"


@register.filter
def duration(seconds) -> str:
    if seconds is None:
        return "—"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


@register.filter
def filesize(size) -> str:
    size = float(size or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


@register.simple_tag
def ticket_url(ticket) -> str:
    """The ticket's page once the planning pages exist; its runs page until then."""
    for name in ("ticket-detail", "ticket"):
        try:
            return reverse(name, kwargs={"ticket_key": ticket.key})
        except NoReverseMatch:
            try:
                return reverse(name, args=[ticket.key])
            except NoReverseMatch:
                continue
    return reverse("ticket-runs", kwargs={"ticket_key": ticket.key})
