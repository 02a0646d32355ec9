"""A benchmark's evaluations and champion history as CSV rows (the exports)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet

from experiments.benchmarks.models import ChampionChange, Evaluation
from tickets.models import Project

EVALUATION_COLUMNS = [
    "id", "run_id", "run", "ticket", "dataset", "status", "primary_metric", "value", "ci_low", "ci_high",
    "champion_run", "delta", "delta_ci_low", "delta_ci_high", "p_value", "verdict", "gate_allowed",
    "requested_by", "queued_at", "finished_at",
]  # fmt: skip
HISTORY_COLUMNS = [
    "promoted_at", "run", "previous_run", "sprint", "ticket", "promoted_by", "primary_metric", "value", "ci_low",
    "ci_high", "delta", "verdict", "gate_allowed", "override_reason", "note",
]  # fmt: skip


def _when(moment) -> str:
    return moment.isoformat() if moment else ""


def evaluation_rows(*, project: Project, evaluations: QuerySet[Evaluation]) -> Iterator[list[Any]]:
    """The header, then one row per evaluation, newest first: one query, read in chunks."""
    yield EVALUATION_COLUMNS
    for e in evaluations.iterator(chunk_size=2000):
        ticket = e.run.ticket
        yield [
            e.pk, e.run_id, e.run.name, f"{project.key}-{ticket.number}" if ticket else "",
            e.dataset.label, e.status, e.primary_metric, e.primary_value, e.primary_ci_low, e.primary_ci_high,
            e.champion_run.name if e.champion_run_id else "", e.delta, e.delta_ci_low, e.delta_ci_high,
            e.p_value, e.verdict, e.gate_allowed, e.requested_by.get_username() if e.requested_by_id else "",
            _when(e.queued_at), _when(e.finished_at),
        ]  # fmt: skip


def history_rows(*, history: Iterable[ChampionChange]) -> Iterator[list[Any]]:
    """The header, then each promotion (newest first), credited to its sprint by the one rule."""
    yield HISTORY_COLUMNS
    for c in history:
        comparison = c.comparison or {}
        yield [
            _when(c.promoted_at), c.run_name, c.previous_run_name, c.credited_sprint or "between sprints",
            c.ticket.key if c.ticket_id else "", c.promoted_by.get_username() if c.promoted_by_id else "",
            c.primary_metric, c.primary_value, c.primary_ci_low, c.primary_ci_high, comparison.get("delta"),
            comparison.get("verdict", ""), c.gate_allowed, c.override_reason, c.note,
        ]  # fmt: skip
