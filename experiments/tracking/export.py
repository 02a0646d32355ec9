"""Runs as CSV rows with the metric and param columns asked for (the runs export)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.db.models import QuerySet

from experiments.tracking.models import Run
from experiments.tracking.selectors import metric_value_subquery, param_value_subquery
from tickets.models import Project

RUN_COLUMNS = ["id", "uuid", "name", "ticket", "status", "user", "start_time", "end_time"]
# Each chosen column is a subquery of the one export query: a bound keeps that query sane.
MAX_COLUMNS = 100


def run_rows(
    *, project: Project, runs: QuerySet[Run], metrics: Sequence[str], params: Sequence[str]
) -> Iterator[list[Any]]:
    """The header (``metric:<key>``, ``param:<key>`` after the run's own columns), then one row
    per run: one query whatever the number of runs and columns, read in chunks."""
    annotations = {f"m{i}": metric_value_subquery(key) for i, key in enumerate(metrics)}
    annotations |= {f"p{i}": param_value_subquery(key) for i, key in enumerate(params)}
    yield [*RUN_COLUMNS, *(f"metric:{k}" for k in metrics), *(f"param:{k}" for k in params)]
    for run in runs.annotate(**annotations).iterator(chunk_size=2000):
        yield [
            run.pk,
            run.uuid,
            run.name,
            f"{project.key}-{run.ticket.number}" if run.ticket_id else "",
            run.status,
            run.started_by.get_username() if run.started_by_id else "",
            run.start_time.isoformat() if run.start_time else "",
            run.end_time.isoformat() if run.end_time else "",
            *(getattr(run, f"m{i}") for i in range(len(metrics))),
            *(getattr(run, f"p{i}") for i in range(len(params))),
        ]
