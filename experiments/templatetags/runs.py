"""Template helpers for run pages."""

from __future__ import annotations

import functools
import math
from html import escape

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.urls import NoReverseMatch, reverse
from django.utils import dateformat
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.timezone import template_localtime

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


@functools.lru_cache(maxsize=256)
def _run_urls(project_key: str) -> str:
    marker = 999_999_999
    return reverse("run-detail", args=[project_key, marker]).replace(str(marker), "{pk}")


@register.simple_tag
def run_row(run, project) -> SafeString:
    """One row of the runs table, built as one string (a page shows 50 rows of several columns, and the
    template engine's per-cell lookups were most of the page's time). Every value from a user is escaped."""
    pk = int(run.pk)
    name = escape(str(run.display_name))
    detail = _run_urls(project.key).format(pk=pk)
    if run.ticket_id:
        ticket = run.ticket
        ticket_cell = (
            f'<a class="ticket-key" href="{escape(ticket_url(ticket))}" title="{escape(ticket.title)}">'
            f"{escape(ticket.key)}</a>"
        )
    else:
        ticket_cell = '<span class="text-muted small">—</span>'
    user = run.started_by.username if run.started_by_id else ""
    started = template_localtime(run.start_time)
    parts = [
        f'<tr data-run-id="{pk}"><td class="select-col"><input class="form-check-input" type="checkbox" name="runs" '
        f'value="{pk}" aria-label="Select {name}"></td>'
        f'<td><a class="fw-semibold" href="{detail}">{name}</a> <span class="text-muted small">#{pk}</span></td>'
        f'<td><span class="badge {status_badge(run.status)}">{escape(str(run.get_status_display()))}</span></td>'
        f"<td>{ticket_cell}</td>"
        f'<td class="small">{escape(user) if user else "—"}</td>'
        f'<td class="small text-muted" title="{dateformat.format(started, "Y-m-d H:i:s") if started else ""}">'
        f"{escape(str(naturaltime(started))) if started else ''}</td>"
    ]
    for cell in run.metric_cells:
        parts.append(f'<td class="text-end font-monospace small">{escape(metric(cell))}</td>')
    for cell in run.param_cells:
        text = "—" if cell is None else Truncator(str(cell)).chars(24)
        parts.append(f'<td class="text-end font-monospace small">{escape(text)}</td>')
    parts.append("</tr>")
    return mark_safe("".join(parts))  # noqa: S308 - values from users escaped above
