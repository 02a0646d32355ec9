"""Reads for online tests; each owns its joins, and lists cost a constant number of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Q

from experiments.abtests.models import AbTestState, OnlineSnapshot, OnlineTest
from experiments.benchmarks.models import Benchmark
from experiments.tracking.models import Run
from tickets.models import Project, Ticket


def attach_run_names(tests: Iterable[OnlineTest]) -> list[OnlineTest]:
    """Set ``test.run_names`` ({run id: name}) on every test, with one query for all of them."""
    tests = list(tests)
    ids = {arm["run"] for test in tests for arm in test.arms}
    names = {}
    if ids:
        names = {run.pk: run.display_name for run in Run.objects.filter(pk__in=ids).only("pk", "name", "uuid")}
    for test in tests:
        test.run_names = names
    return tests


def abtests_of_benchmark(*, benchmark: Benchmark) -> list[OnlineTest]:
    """A benchmark's online tests, newest first (two queries)."""
    rows = OnlineTest.objects.filter(benchmark=benchmark).order_by("-created_at", "-pk")
    tests = list(rows)
    for test in tests:
        test.benchmark = benchmark
    return attach_run_names(tests)


def abtests_of_project(*, project: Project, states: Iterable[str] | None = None) -> list[OnlineTest]:
    """A project's online tests, newest first, with their benchmark (two queries)."""
    rows = OnlineTest.objects.filter(benchmark__project=project).select_related("benchmark")
    if states is not None:
        rows = rows.filter(state__in=list(states))
    tests = list(rows.order_by("-created_at", "-pk"))
    for test in tests:
        test.benchmark.project = project
    return attach_run_names(tests)


def abtests_of_ticket(*, ticket: Ticket) -> list[OnlineTest]:
    """Online tests whose champion or a challenger is a run of the ticket (three queries)."""
    run_ids = set(Run.objects.filter(ticket=ticket).values_list("pk", flat=True))
    if not run_ids:
        return []
    candidates = abtests_of_project(project=ticket.project)
    return [test for test in candidates if run_ids & {arm["run"] for arm in test.arms}]


def running_abtests(*, project: Project) -> list[OnlineTest]:
    return abtests_of_project(project=project, states=[AbTestState.RUNNING])


def snapshots_of(*, test: OnlineTest, limit: int = 500) -> list[OnlineSnapshot]:
    """The test's snapshots in time order; with more than ``limit``, evenly thinned (always with the last)."""
    rows = list(OnlineSnapshot.objects.filter(test=test).order_by("at", "pk").only("at", "n_events", "analysis"))
    if len(rows) <= limit:
        return rows
    step = len(rows) / limit
    picked = [rows[int(k * step)] for k in range(limit - 1)]
    return [*picked, rows[-1]]


def onlinetest_fresh(*, test: OnlineTest) -> OnlineTest:
    """The test re-read with its benchmark (after a service changed it); the project is kept."""
    project = test.benchmark.project
    fresh = OnlineTest.objects.select_related("benchmark").get(pk=test.pk)
    fresh.benchmark.project = project
    return attach_run_names([fresh])[0]


def abtests_for_story(*, project: Project, between: tuple[dt.datetime, dt.datetime] | None = None) -> list[OnlineTest]:
    """The project's started online tests for the champion's story, with benchmark and the champion
    change a shipped test led to (one query, plus one for run names when there are tests).

    With ``between``, only tests that ran during that window: started before its end and not stopped
    before its start.
    """
    rows = OnlineTest.objects.filter(benchmark__project=project, started_at__isnull=False).select_related(
        "benchmark", "champion_change"
    )
    if between is not None:
        start, end = between
        rows = rows.filter(started_at__lt=end).filter(Q(stopped_at__isnull=True) | Q(stopped_at__gte=start))
    tests = list(rows.order_by("-started_at", "-pk"))
    for test in tests:
        test.benchmark.project = project
    return attach_run_names(tests)


# The run pickers of the new-test form list the project's newest runs (a bounded list).
def run_labels(*, benchmark: Benchmark, ids: list[int]) -> dict[int, str]:
    """``{run id: label}`` of the benchmark project's runs among ``ids`` (the values a new-test form
    shows already chosen); the champion is labelled. One query, none without ids."""
    if not ids:
        return {}
    runs = Run.objects.filter(project_id=benchmark.project_id, pk__in=ids, deleted_at__isnull=True)
    return {
        r.pk: f"#{r.pk} {r.display_name}" + (" (champion)" if r.pk == benchmark.champion_id else "")
        for r in runs.only("id", "name", "uuid")
    }
