"""Tickets as CSV rows, for the export (``/api/v1/projects/{KEY}/tickets/export/``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from tickets.models import Project, Ticket

TICKET_COLUMNS = [
    "key", "title", "kind", "work_type", "status", "sprint", "epic", "assignee", "estimate",
    "question", "hypothesis", "outcome", "answer", "skip_reason", "deliverable_url", "created_at", "updated_at",
]  # fmt: skip


def ticket_rows(*, project: Project, tickets: QuerySet[Ticket]) -> Iterator[list[Any]]:
    """The header, then one row per ticket: one query, read in chunks as the answer streams."""
    yield TICKET_COLUMNS
    for t in tickets.iterator(chunk_size=2000):
        yield [
            f"{project.key}-{t.number}",
            t.title,
            t.kind,
            t.work_type,
            t.status,
            t.sprint.name if t.sprint_id else "",
            t.epic.title if t.epic_id else "",
            t.assignee.get_username() if t.assignee_id else "",
            t.estimate,
            t.question,
            t.hypothesis,
            t.outcome,
            t.answer,
            t.skip_reason,
            t.deliverable_url,
            t.created_at.isoformat(),
            t.updated_at.isoformat(),
        ]
