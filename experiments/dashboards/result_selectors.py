"""Results for the dashboards: each benchmark's champions over time and the challengers
measured against them, as the pure chart types of ``experiments.charts_dashboard``.

Reads only; a fixed number of queries per call whatever the number of evaluations.
"""

from __future__ import annotations

import bisect
import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from experiments.benchmarks.models import Benchmark, ChampionChange, Evaluation, EvaluationStatus
from experiments.dashboards.charts import MetricPoint, Promotion
from experiments.evaluation import HIGHER_IS_BETTER
from tickets.attribution import SprintPeriod, sprint_of_moment
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

    def champion_before(self, moment: datetime.datetime) -> Promotion | None:
        """The champion in place just before ``moment`` (a promotion at ``moment`` not yet counted)."""
        times = [p.at for p in self.promotions]
        index = bisect.bisect_left(times, moment)
        return self.promotions[index - 1] if index else None

    def gain(self, period: SprintPeriod, periods: Sequence[SprintPeriod] = ()) -> float | None:
        """How far the promotions credited to the sprint ``period`` moved the champion's primary
        metric in its better direction.

        Credit follows :func:`tickets.attribution.sprint_of_moment` over ``periods`` (the
        project's sprints; ``period`` alone if not given), the rule every page uses.
        None when there was no champion by the sprint's end; a first champion counts from
        nothing as no gain (a baseline is a start, not an improvement).
        """
        if period.started_at is None:
            return None
        periods = periods or [period]
        credited = [p for p in self.promotions if sprint_of_moment(periods, p.at) == period]
        before = self.champion_before(period.started_at)
        after = credited[-1] if credited else before
        if after is None or after.value is None:
            return None
        if before is None or before.value is None:
            return 0.0
        delta = after.value - before.value
        return delta if self.higher_is_better else -delta

    def gain_between_sprints(self, periods: Sequence[SprintPeriod]) -> float | None:
        """What promotions made while no sprint was active moved (None when there were none)."""
        total, found = 0.0, False
        for index, promotion in enumerate(self.promotions):
            if index == 0 or sprint_of_moment(periods, promotion.at) is not None:
                continue
            previous = self.promotions[index - 1]
            if promotion.value is None or previous.value is None:
                continue
            found = True
            delta = promotion.value - previous.value
            total += delta if self.higher_is_better else -delta
        return total if found else None

    def challengers_between(
        self, start: datetime.datetime, end: datetime.datetime
    ) -> tuple[list[MetricPoint], list[MetricPoint]]:
        picked = [(c, r) for c, r in zip(self.challengers, self.references, strict=True) if start <= c.at <= end]
        return [c for c, _ in picked], [r for _, r in picked]

    @property
    def current(self) -> Promotion | None:
        return self.promotions[-1] if self.promotions else None


def _label(name: str, uuid: str) -> str:
    return name or f"run {uuid[:8]}"


def benchmark_progress(*, project: Project) -> list[BenchmarkProgress]:
    """Every benchmark of ``project`` (by name) with its champions and compared challengers:
    three queries (benchmarks, promotions, finished comparisons), whatever their number.

    A challenger is an evaluation that finished with a verdict on the benchmark's primary
    metric; it is placed at the moment it finished and measured against the champion in
    place when it was requested.
    """
    benchmarks = list(Benchmark.objects.filter(project=project).order_by("name", "id"))
    if not benchmarks:
        return []
    by_id = {
        b.pk: BenchmarkProgress(
            id=b.pk,
            name=b.name,
            metric=b.primary_metric,
            higher_is_better=b.primary_metric in HIGHER_IS_BETTER,
        )
        for b in benchmarks
    }
    changes = (
        ChampionChange.objects.filter(benchmark_id__in=by_id)
        .order_by("promoted_at", "id")
        .values_list(
            "benchmark_id",
            "promoted_at",
            "run_name",
            "primary_metric",
            "primary_value",
            "primary_ci_low",
            "primary_ci_high",
            "ticket__number",
        )
    )
    for benchmark_id, at, name, metric, value, low, high, number in changes:
        progress = by_id[benchmark_id]
        if metric != progress.metric:
            continue  # promoted on another primary metric: not on this chart's axis
        ticket = f"{project.key}-{number}" if number else ""
        progress.promotions.append(Promotion(at=at, value=value, low=low, high=high, label=name, ticket=ticket))
    evaluations = (
        Evaluation.objects.filter(benchmark_id__in=by_id, status=EvaluationStatus.SUCCEEDED)
        .exclude(verdict="")
        .order_by("finished_at", "id")
        .values_list(
            "benchmark_id",
            "primary_metric",
            "queued_at",
            "finished_at",
            "primary_value",
            "primary_ci_low",
            "primary_ci_high",
            "verdict",
            "run__name",
            "run__uuid",
            "run__ticket__number",
        )
    )
    pending: dict[int, list[tuple[MetricPoint, datetime.datetime]]] = defaultdict(list)
    for benchmark_id, metric, queued, finished, value, low, high, verdict, name, uuid, number in evaluations:
        if metric != by_id[benchmark_id].metric:
            continue
        point = MetricPoint(
            at=finished or queued,
            value=value,
            low=low,
            high=high,
            label=_label(name, uuid),
            verdict=verdict,
            ticket=f"{project.key}-{number}" if number else "",
        )
        pending[benchmark_id].append((point, queued))
    for benchmark_id, points in pending.items():
        progress = by_id[benchmark_id]
        for point, queued in points:
            champion = progress.champion_at(queued)
            progress.challengers.append(point)
            progress.references.append(
                MetricPoint(
                    at=queued,
                    value=champion.value if champion else None,
                    low=champion.low if champion else None,
                    high=champion.high if champion else None,
                    label=champion.label if champion else "no champion",
                )
            )
    return [by_id[b.pk] for b in benchmarks]
