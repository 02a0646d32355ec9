"""Reads for the pickers of runs: a few of the project's runs matching what was typed, one query."""

from __future__ import annotations

import re

from django.db.models import Case, IntegerField, Q, Value, When

from experiments.tracking.models import Run
from tickets.autocomplete import LIMIT, words_of
from tickets.models import Project

# "12" or "#12": a run id, typed; six or more hex digits: the start of its MLflow id.
_ID = re.compile(r"#?(\d{1,18})")
_UUID = re.compile(r"[0-9a-f]{6,32}")


def run_suggestions(*, project: Project, query: str | None, limit: int = LIMIT) -> list[Run]:
    """Runs of ``project`` (not deleted) whose id was typed or whose name has every word typed.

    The run whose id was typed comes first, then the newest. Nothing typed: the newest runs.
    One query: the ticket is joined and the project attached, so ``run.ticket.key`` costs nothing.
    """
    words = words_of(query)
    rows = Run.objects.filter(project=project, deleted_at__isnull=True)
    order: list = ["-start_time", "-id"]
    if words:
        condition = Q()
        for word in words:
            condition &= Q(name__icontains=word)
        if len(words) == 1 and (match := _ID.fullmatch(words[0])) and int(match.group(1)) < 2**63:
            run_id = int(match.group(1))
            condition |= Q(pk=run_id)
            exact = Case(When(pk=run_id, then=Value(0)), default=Value(1), output_field=IntegerField())
            order.insert(0, exact.asc())
        if len(words) == 1 and _UUID.fullmatch(words[0].lower()):
            condition |= Q(uuid__startswith=words[0].lower())
        rows = rows.filter(condition)
    runs = list(rows.select_related("ticket").order_by(*order)[:limit])
    for run in runs:
        run.project = project
        if run.ticket_id:
            run.ticket.project = project
    return runs
