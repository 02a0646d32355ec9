"""Output serializers of the benchmarks API and the functions that build their rows (no queries: callers join)."""

from __future__ import annotations

from rest_framework import serializers

from experiments.benchmarks.models import (
    Benchmark,
    BenchmarkTask,
    ChampionChange,
    Evaluation,
    EvaluationDataset,
    EvaluationStatus,
    PredictionSet,
    PredictionSource,
    Verdict,
)
from experiments.benchmarks.text import comparison_sentence
from tickets.models import Project


class IntervalOutput(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)


class RunRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    ticket = serializers.CharField(allow_null=True, help_text="Key of the run's ticket, or null.")


class DatasetOutput(serializers.Serializer):
    version = serializers.IntegerField()
    original_name = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes.")
    n_rows = serializers.IntegerField()
    n_groups = serializers.IntegerField(
        allow_null=True, help_text="Distinct groups (subjects); null without a group column."
    )
    class_counts = serializers.DictField(child=serializers.IntegerField(), help_text="Rows per class label.")
    note = serializers.CharField()
    uploaded_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class ChampionOutput(serializers.Serializer):
    run = RunRefOutput()
    since = serializers.DateTimeField()
    primary = IntervalOutput(help_text="The champion's primary metric when it was promoted.")


class BenchmarkOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.CharField()
    name = serializers.CharField()
    task = serializers.ChoiceField(choices=BenchmarkTask.choices)
    primary_metric = serializers.CharField()
    threshold = serializers.FloatField(help_text="Binary decision threshold: a score ≥ it is a positive decision.")
    guardrails = serializers.DictField(child=serializers.FloatField(), help_text="{metric: non-inferiority margin}.")
    description = serializers.CharField(help_text="What 'better' means for the business.")
    unit = serializers.CharField(help_text="independent, or the grouping of rows: subject, session or device.")
    effect_of_interest = serializers.FloatField(
        allow_null=True, help_text="The smallest improvement of the primary metric worth detecting."
    )
    champion = ChampionOutput(allow_null=True)
    current_dataset = DatasetOutput(allow_null=True)
    evaluation_count = serializers.IntegerField()
    url = serializers.CharField()


class ChampionChangeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    run = RunRefOutput(allow_null=True)
    previous_run = RunRefOutput(allow_null=True, help_text="Null for the baseline (first champion).")
    evaluation = serializers.IntegerField(allow_null=True)
    dataset_version = serializers.IntegerField(allow_null=True)
    ticket = serializers.CharField(allow_null=True)
    sprint = serializers.CharField(allow_null=True, help_text="The sprint under way at the promotion.")
    promoted_by = serializers.CharField(allow_null=True)
    promoted_at = serializers.DateTimeField()
    note = serializers.CharField()
    gate_allowed = serializers.BooleanField()
    gate_reasons = serializers.ListField(child=serializers.CharField())
    override_reason = serializers.CharField(help_text="Set when a lead promoted despite a failed gate.")
    primary_metric = serializers.CharField()
    primary = IntervalOutput()
    comparison = serializers.DictField(allow_null=True)
    model_version = serializers.IntegerField(
        allow_null=True, help_text="The version of the benchmark's registered model that became @champion."
    )


class BenchmarkDetailOutput(BenchmarkOutput):
    datasets = DatasetOutput(many=True, help_text="The newest dataset versions, newest first.")
    datasets_count = serializers.IntegerField(help_text="How many dataset versions there are in all.")
    datasets_url = serializers.URLField(help_text="Every dataset version, newest first, paged.")
    champion_history = ChampionChangeOutput(many=True, help_text="The newest promotions, newest first.")
    champion_history_count = serializers.IntegerField(help_text="How many promotions there are in all.")
    champion_history_url = serializers.URLField(help_text="Every promotion, newest first, paged.")


class GateOutput(serializers.Serializer):
    allowed = serializers.BooleanField(allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())


class ComparisonOutput(serializers.Serializer):
    primary = serializers.CharField()
    delta = serializers.FloatField(allow_null=True, help_text="Challenger − champion on the primary metric.")
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    p_value = serializers.FloatField(allow_null=True)
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    reason = serializers.CharField(
        allow_null=True, required=False, help_text="With insufficient_data: why the data cannot support a verdict."
    )


class SequenceOutput(serializers.Serializer):
    test = serializers.IntegerField(help_text="1 for the first comparison on this dataset version.")
    level = serializers.FloatField(help_text="The significance level the promotion gate used for this test.")


class EvaluationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    benchmark = serializers.IntegerField()
    benchmark_name = serializers.CharField()
    dataset_version = serializers.IntegerField()
    run = RunRefOutput()
    champion_run = RunRefOutput(allow_null=True, help_text="The champion it was compared with, if any.")
    status = serializers.ChoiceField(choices=EvaluationStatus.choices)
    stage = serializers.CharField()
    progress = serializers.IntegerField(help_text="Percent done.")
    attempts = serializers.IntegerField()
    error = serializers.CharField(help_text="Why it failed, when it failed.")
    primary_metric = serializers.CharField()
    primary = IntervalOutput()
    comparison = ComparisonOutput(allow_null=True)
    summary = serializers.CharField(help_text="The comparison in plain words.")
    gate = GateOutput()
    sequence = SequenceOutput(
        allow_null=True,
        help_text="Its place among the comparisons on this dataset version and the level LORD++ allowed it.",
    )
    requested_by = serializers.CharField(allow_null=True)
    queued_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    url = serializers.CharField()


class EvaluationDetailOutput(EvaluationOutput):
    report = serializers.DictField(
        allow_null=True,
        help_text="The engine's report: metrics, champion_metrics, comparisons (every metric), coverage, "
        "curves (ROC/DET points), interval_methods, resampling, settings.",
    )


class EvaluationRequestOutput(serializers.Serializer):
    created = serializers.BooleanField(help_text="False when an identical earlier evaluation was reused.")
    evaluation = EvaluationOutput()


class PredictionSetOutput(serializers.Serializer):
    id = serializers.IntegerField()
    run = serializers.IntegerField()
    benchmark = serializers.IntegerField()
    benchmark_name = serializers.CharField()
    dataset_version = serializers.IntegerField()
    original_name = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    n_rows = serializers.IntegerField()
    n_covered = serializers.IntegerField(help_text="Truth rows with a prediction; missing rows count as worst answers.")
    source = serializers.ChoiceField(choices=PredictionSource.choices)
    uploaded_by = serializers.CharField(allow_null=True)
    uploaded_at = serializers.DateTimeField()


class PredictionUploadOutput(serializers.Serializer):
    predictions = PredictionSetOutput()
    evaluation = EvaluationOutput(allow_null=True)
    created = serializers.BooleanField(help_text="Whether a new evaluation was queued (false: reused or none).")


def _username(user) -> str | None:
    return user.get_username() if user is not None else None


def _run_ref(run, project: Project) -> dict | None:
    if run is None:
        return None
    return {
        "id": run.pk,
        "name": run.display_name,
        "ticket": f"{project.key}-{run.ticket.number}" if run.ticket_id else None,
    }


def dataset_out(dataset: EvaluationDataset) -> dict:
    return {
        "version": dataset.version,
        "original_name": dataset.original_name,
        "sha256": dataset.sha256,
        "size": dataset.size,
        "n_rows": dataset.n_rows,
        "n_groups": dataset.n_groups,
        "class_counts": dataset.class_counts,
        "note": dataset.note,
        "uploaded_by": _username(dataset.uploaded_by) if dataset.uploaded_by_id else None,
        "created_at": dataset.created_at,
    }


def benchmark_out(benchmark: Benchmark) -> dict:
    project = benchmark.project
    champion = None
    if benchmark.champion_id:
        champion = {
            "run": _run_ref(benchmark.champion, project),
            "since": benchmark.champion_since,
            "primary": {
                "value": benchmark.champion_value,
                "ci_low": benchmark.champion_ci_low,
                "ci_high": benchmark.champion_ci_high,
            },
        }
    return {
        "id": benchmark.pk,
        "project": project.key,
        "name": benchmark.name,
        "task": benchmark.task,
        "primary_metric": benchmark.primary_metric,
        "threshold": benchmark.threshold,
        "guardrails": benchmark.guardrails,
        "description": benchmark.description,
        "unit": benchmark.unit,
        "effect_of_interest": benchmark.effect_of_interest,
        "champion": champion,
        "current_dataset": dataset_out(benchmark.current_dataset) if benchmark.current_dataset else None,
        "evaluation_count": benchmark.evaluation_count or 0,
        "url": f"/p/{project.key}/benchmarks/{benchmark.pk}/",
    }


def change_out(change: ChampionChange, project: Project) -> dict:
    return {
        "id": change.pk,
        "run": {"id": change.run_id, "name": change.run_name, "ticket": change.ticket.key if change.ticket_id else None}
        if change.run_id
        else None,
        "previous_run": {"id": change.previous_run_id, "name": change.previous_run_name, "ticket": None}
        if change.previous_run_id
        else None,
        "evaluation": change.evaluation_id,
        "dataset_version": change.dataset.version if change.dataset_id else None,
        "ticket": change.ticket.key if change.ticket_id else None,
        "sprint": change.sprint.name if change.sprint_id else None,
        "promoted_by": _username(change.promoted_by) if change.promoted_by_id else None,
        "promoted_at": change.promoted_at,
        "note": change.note,
        "gate_allowed": change.gate_allowed,
        "gate_reasons": change.gate_reasons,
        "override_reason": change.override_reason,
        "primary_metric": change.primary_metric,
        "primary": {"value": change.primary_value, "ci_low": change.primary_ci_low, "ci_high": change.primary_ci_high},
        "comparison": change.comparison,
        "model_version": change.model_version,
    }


def _comparison_reason(evaluation: Evaluation) -> str | None:
    """Why the data support no verdict, from the stored report (not read where lists leave the report out)."""
    if evaluation.verdict != "insufficient_data" or "result" in evaluation.get_deferred_fields():
        return None
    return ((evaluation.result or {}).get("comparison") or {}).get("reason")


def evaluation_out(evaluation: Evaluation, project: Project) -> dict:
    comparison = None
    if evaluation.verdict:
        comparison = {
            "primary": evaluation.primary_metric,
            "delta": evaluation.delta,
            "ci_low": evaluation.delta_ci_low,
            "ci_high": evaluation.delta_ci_high,
            "p_value": evaluation.p_value,
            "verdict": evaluation.verdict,
            "reason": _comparison_reason(evaluation),
        }
    summary = ""
    if evaluation.status == EvaluationStatus.SUCCEEDED:
        summary = comparison_sentence(
            comparison, guardrails=evaluation.guardrails, gate_reasons=evaluation.gate_reasons
        )
    return {
        "id": evaluation.pk,
        "benchmark": evaluation.benchmark_id,
        "benchmark_name": evaluation.benchmark.name,
        "dataset_version": evaluation.dataset.version,
        "run": _run_ref(evaluation.run, project),
        "champion_run": _run_ref(evaluation.champion_run, project) if evaluation.champion_run_id else None,
        "status": evaluation.status,
        "stage": evaluation.stage,
        "progress": evaluation.progress,
        "attempts": evaluation.attempts,
        "error": evaluation.error,
        "primary_metric": evaluation.primary_metric,
        "primary": {
            "value": evaluation.primary_value,
            "ci_low": evaluation.primary_ci_low,
            "ci_high": evaluation.primary_ci_high,
        },
        "comparison": comparison,
        "summary": summary,
        "gate": {"allowed": evaluation.gate_allowed, "reasons": evaluation.gate_reasons},
        "sequence": {"test": evaluation.sequence_test, "level": evaluation.sequence_level}
        if evaluation.sequence_test
        else None,
        "requested_by": _username(evaluation.requested_by) if evaluation.requested_by_id else None,
        "queued_at": evaluation.queued_at,
        "started_at": evaluation.started_at,
        "finished_at": evaluation.finished_at,
        "url": f"/p/{project.key}/evaluations/{evaluation.pk}/",
    }


def predictions_out(prediction_set: PredictionSet) -> dict:
    dataset = prediction_set.dataset
    return {
        "id": prediction_set.pk,
        "run": prediction_set.run_id,
        "benchmark": dataset.benchmark_id,
        "benchmark_name": dataset.benchmark.name,
        "dataset_version": dataset.version,
        "original_name": prediction_set.original_name,
        "sha256": prediction_set.sha256,
        "size": prediction_set.size,
        "n_rows": prediction_set.n_rows,
        "n_covered": prediction_set.n_covered,
        "source": prediction_set.source,
        "uploaded_by": _username(prediction_set.uploaded_by) if prediction_set.uploaded_by_id else None,
        "uploaded_at": prediction_set.uploaded_at,
    }
