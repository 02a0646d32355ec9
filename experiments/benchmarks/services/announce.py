"""Benchmark events for ``agileml.events``: an evaluation finished, a champion was promoted.

Called inside the transaction that records the change, so subscribers write their rows with it.
"""

from __future__ import annotations

from agileml import events
from experiments.benchmarks.models import ChampionChange, Evaluation, EvaluationStatus
from experiments.benchmarks.text import comparison_sentence


def announce_evaluation_finished(*, evaluation_id: int) -> None:
    """Publish ``evaluation.finished`` for a succeeded or failed evaluation (with its verdict and sentence)."""
    if not events.has_subscribers():
        return
    evaluation = Evaluation.objects.select_related("benchmark__project", "run__ticket", "requested_by").get(
        pk=evaluation_id
    )
    succeeded = evaluation.status == EvaluationStatus.SUCCEEDED
    comparison = (evaluation.result or {}).get("comparison")
    sentence = (
        comparison_sentence(comparison, guardrails=evaluation.guardrails, gate_reasons=evaluation.gate_reasons)
        if succeeded
        else evaluation.error
    )
    run = evaluation.run
    events.publish(
        events.EVALUATION_FINISHED,
        project=evaluation.benchmark.project,
        actor=evaluation.requested_by,
        at=evaluation.finished_at,
        payload={
            "benchmark": evaluation.benchmark_id,
            "benchmark_name": evaluation.benchmark.name,
            "evaluation": evaluation.pk,
            "status": evaluation.status,
            "run": run.display_name,
            "ticket": run.ticket.key if run.ticket_id else None,
            "verdict": evaluation.verdict or None,
            "sentence": sentence,
            "gate_allowed": evaluation.gate_allowed,
            "gate_reasons": list(evaluation.gate_reasons),
            "primary_metric": evaluation.primary_metric,
            "primary_value": evaluation.primary_value,
        },
    )


def announce_champion_promoted(*, change: ChampionChange, project) -> None:
    """Publish ``champion.promoted`` with the gate result or the override reason."""
    if not events.has_subscribers():
        return
    events.publish(
        events.CHAMPION_PROMOTED,
        project=project,
        actor=change.promoted_by,
        at=change.promoted_at,
        payload={
            "benchmark": change.benchmark_id,
            "benchmark_name": change.benchmark.name,
            "evaluation": change.evaluation_id,
            "run": change.run_name,
            "previous_run": change.previous_run_name or None,
            "ticket": change.run.ticket.key if change.ticket_id else None,
            "gate_allowed": change.gate_allowed,
            "gate_reasons": list(change.gate_reasons),
            "override_reason": change.override_reason or None,
            "primary_metric": change.primary_metric,
            "primary_value": change.primary_value,
            "note": change.note,
            "model_version": change.model_version,
        },
    )
