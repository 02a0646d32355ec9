"""Reads for the pickers of tickets and people: a few rows matching what was typed, one query each.

Pickers ask as the user types, so a project's thousands of tickets never reach a page; every
function returns at most ``limit`` rows whatever the project's size.
"""

from __future__ import annotations

import re

from django.db.models import Case, CharField, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Cast

from tickets.models import OPEN_STATUSES, Membership, Project, Ticket

LIMIT = 20
MAX_WORDS = 5
# "12", "#12", "AUTH-12", "auth-1" (a prefix of the number): a ticket number, typed.
_NUMBER = re.compile(r"(?:[A-Za-z][A-Za-z0-9_]*-|#)?(\d{1,18})")


def words_of(query: str | None) -> list[str]:
    """What was typed, as at most :data:`MAX_WORDS` words (control characters dropped)."""
    text = "".join(ch if ch.isprintable() else " " for ch in (query or "")[:200])
    return text.split()[:MAX_WORDS]


def _contains_all(field: str, words: list[str]) -> Q:
    condition = Q()
    for word in words:
        condition &= Q(**{f"{field}__icontains": word})
    return condition


def ticket_suggestions(*, project: Project, query: str | None, limit: int = LIMIT) -> list[Ticket]:
    """Tickets of ``project`` whose key starts with or whose title has every word typed.

    The ticket whose number was typed comes first, then open tickets before done or skipped
    ones, newest first. Nothing typed: the newest open tickets. One query; each ticket has the
    project attached, so ``ticket.key`` costs nothing.
    """
    words = words_of(query)
    rows: QuerySet[Ticket] = Ticket.objects.filter(project=project)
    key_prefix = f"{project.key}-".lower()
    number = None
    if len(words) == 1 and words[0].lower() == key_prefix:
        pass  # "AUTH-": any ticket of the project
    elif len(words) == 1 and (match := _NUMBER.fullmatch(words[0])):
        digits = match.group(1)
        number = int(digits)
        by_number = Q(number_text__startswith=digits)
        if not words[0].lower().startswith(key_prefix):
            by_number |= _contains_all("title", words)  # "2024" may be in a title too
        rows = rows.annotate(number_text=Cast("number", CharField())).filter(by_number)
    elif words:
        rows = rows.filter(_contains_all("title", words))
    ordered = rows.order_by(*_ticket_order(number))
    tickets = list(ordered.only("id", "number", "title", "status", "kind", "project_id")[:limit])
    for ticket in tickets:
        ticket.project = project
    return tickets


def _ticket_order(number: int | None) -> list:
    closed = Case(When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField())
    order = [closed.asc(), "-number"]
    if number is not None:
        exact = Case(When(number=number, then=Value(0)), default=Value(1), output_field=IntegerField())
        order.insert(0, exact.asc())
    return order


def member_suggestions(*, project: Project, query: str | None, limit: int = LIMIT) -> list[Membership]:
    """Members of ``project`` whose username or name has every word typed, by username. One query."""
    rows = Membership.objects.filter(project=project)
    for word in words_of(query):
        rows = rows.filter(
            Q(user__username__icontains=word) | Q(user__first_name__icontains=word) | Q(user__last_name__icontains=word)
        )
    return list(rows.select_related("user").order_by("user__username")[:limit])
