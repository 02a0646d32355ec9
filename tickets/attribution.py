"""Which sprint a moment belongs to: the one rule every page and chart uses to credit a
promotion (or any other event) to a sprint.

The rule: a moment belongs to the sprint that was *active* then — started at or before it
and not yet closed (a sprint closed at exactly that moment no longer counts). A moment when
no sprint was active is "between sprints". Planned dates play no part: a sprint that closed
early does not own the days after its close, and one started late does not own the days
before its start.

Pure: no Django, no database; callers pass the sprints' start and close times.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

BETWEEN_SPRINTS = "between sprints"


@dataclass(frozen=True)
class SprintPeriod:
    """When a sprint was active: from ``started_at`` until ``closed_at`` (None while it runs)."""

    id: int | None
    name: str
    started_at: datetime.datetime | None
    closed_at: datetime.datetime | None = None

    def covers(self, moment: datetime.datetime) -> bool:
        if self.started_at is None or moment < self.started_at:
            return False
        return self.closed_at is None or moment < self.closed_at


def sprint_of_moment(periods: Iterable[SprintPeriod], moment: datetime.datetime) -> SprintPeriod | None:
    """The sprint active at ``moment``, or None when it fell between sprints.

    Should periods overlap (history edited by hand), the one started last wins.
    """
    covering = [p for p in periods if p.covers(moment)]
    return max(covering, key=lambda p: p.started_at) if covering else None


def attribution_text(periods: Iterable[SprintPeriod], moment: datetime.datetime) -> str:
    """``"during Sprint 4"`` or ``"between sprints"``: how pages word the rule."""
    found = sprint_of_moment(periods, moment)
    return f"during {found.name}" if found else BETWEEN_SPRINTS
