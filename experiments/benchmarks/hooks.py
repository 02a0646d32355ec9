"""What benchmarks add to other parts: the evaluations panel on a ticket's page, and the
MLflow hook that evaluates a ``predictions.csv`` (or Parquet, compressed CSV) artifact logged by a run tagged
``agileml.benchmark=<name>``. Registered at start-up (``ExperimentsConfig.ready``), so
neither planning nor tracking imports benchmarks."""

from __future__ import annotations

from pathlib import Path

from django.http import HttpRequest

from experiments.benchmarks import services
from experiments.benchmarks.models import Benchmark, ChampionChange, Evaluation, EvaluationDataset
from experiments.tracking.hooks import lazy_panel
from experiments.tracking.models import Run
from experiments.tracking.services import register_artifact_hook
from tickets.extensions import TicketPanel, register_ticket_panel
from tickets.models import Ticket
from tickets.versions import touch_on_save


@register_ticket_panel
def evaluations_panel(request: HttpRequest, ticket: Ticket) -> TicketPanel:
    return lazy_panel("ticket-evaluations", ticket, label="evaluations", testid="ticket-evaluations-panel", order=20)


@register_artifact_hook
def predictions_artifact(*, run: Run, path: str, file: Path) -> None:
    """A run tagged ``agileml.benchmark`` that logs ``predictions.csv`` (or ``.csv.gz``, ``.csv.zst``,
    ``.parquet``): validated and evaluated, or refused whole."""
    if path in services.PREDICTIONS_ARTIFACTS:
        services.predictions_from_artifact(run=run, path=file, artifact=path)


# Cached project pages go stale when a benchmark, a dataset version, an evaluation or a promotion changes.
touch_on_save(Benchmark, lambda benchmark: {"project_id": benchmark.project_id})
for _model in (EvaluationDataset, Evaluation, ChampionChange):
    touch_on_save(_model, lambda row: {"benchmarks": row.benchmark_id})
