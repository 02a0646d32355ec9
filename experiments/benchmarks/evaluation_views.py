"""Evaluation pages: one evaluation's progress (polled while it runs) and verdict, promoting its run
(the promotion gate), and evaluating again."""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from experiments.benchmarks import selectors, services
from experiments.benchmarks.access import evaluation_for_user
from experiments.benchmarks.charts import det_figure, roc_figure
from experiments.benchmarks.forms import (
    PromoteForm,
)
from experiments.benchmarks.models import (
    Evaluation,
    EvaluationStatus,
)
from experiments.benchmarks.text import comparison_sentence, guardrail_states, metric_label
from experiments.evaluation import HIGHER_IS_BETTER
from tickets.fragments import shared_page
from tickets.models import Role


def _metric_rows(evaluation: Evaluation) -> list[dict]:
    report = evaluation.result or {}
    champion = report.get("champion_metrics", {})
    comparisons = report.get("comparisons", {})
    methods = report.get("interval_methods", {})
    states = dict(guardrail_states(evaluation.guardrails, evaluation.gate_reasons))
    not_estimable = (report.get("support") or {}).get("not_estimable") or {}
    rows = []
    for metric, value in report.get("metrics", {}).items():
        role = "primary" if metric == evaluation.primary_metric else ("guardrail" if metric in states else "")
        rows.append(
            {
                "metric": metric,
                "label": metric_label(metric),
                "role": role,
                "margin": evaluation.guardrails.get(metric),
                "held": states.get(metric),
                "higher_is_better": metric in HIGHER_IS_BETTER,
                "value": value,
                "champion": champion.get(metric),
                "comparison": comparisons.get(metric),
                "method": methods.get(metric, ""),
                "not_estimable": metric in not_estimable,
            }
        )
    return rows


def _report_parts(evaluation: Evaluation, names: dict[str, str]) -> dict:
    """What the page draws from the evaluation's report: its metric table, sentence, coverage and figures.

    The same for every viewer, and a finished evaluation's report never changes: kept in the cache (by
    evaluation, finish time and the runs' names), so a page view neither loads the report (views defer
    it) nor builds the figures again."""

    def build() -> dict:
        report = evaluation.result or {}
        curves = report.get("curves") or {}
        return {
            "metric_rows": _metric_rows(evaluation) if evaluation.status == EvaluationStatus.SUCCEEDED else [],
            "sentence": comparison_sentence(
                report.get("comparison"), guardrails=evaluation.guardrails, gate_reasons=evaluation.gate_reasons
            ),
            "coverage": report.get("coverage", {}),
            "roc": roc_figure(curves, names=names) if curves else None,
            "det": det_figure(curves, names=names) if curves else None,
            "report": {
                "comparison": {key: (report.get("comparison") or {}).get(key) for key in ("method", "reason")},
                "resampling": report.get("resampling") or {},
            },
        }

    if not evaluation.is_finished or evaluation.finished_at is None:
        return build()
    named = hashlib.sha256(json.dumps(names, sort_keys=True).encode()).hexdigest()[:16]
    key = f"evaluation-report:{evaluation.pk}:{evaluation.finished_at.timestamp()}:{named}"
    return cache.get_or_set(key, build, settings.FRAGMENT_CACHE_SECONDS)


def _evaluation_context(evaluation: Evaluation, **extra) -> dict:
    benchmark = evaluation.benchmark
    project = benchmark.project
    fresh = selectors.benchmark_fresh(benchmark=benchmark)
    latest = selectors.latest_dataset(benchmark=fresh)
    problem = services.promotion_problem(benchmark=fresh, evaluation=evaluation, latest=latest)
    names = {
        "champion": evaluation.champion_run.display_name if evaluation.champion_run_id else "champion",
        "challenger": evaluation.run.display_name,
    }
    context = {
        "project": project,
        "benchmark": benchmark,
        "evaluation": evaluation,
        "run": evaluation.run,
        **_report_parts(evaluation, names),
        "is_champion": fresh.champion_id == evaluation.run_id,
        "problem": problem,
        "is_baseline": evaluation.champion_run_id is None,
        "can_promote": project.role.allows(Role.LEAD),
        "can_evaluate": project.role.allows(Role.ENGINEER),
        "promote_form": PromoteForm(),
        "latest_dataset": latest,
    }
    context.update(extra)
    return context


@login_required
@require_GET
def evaluation_detail(request: HttpRequest, key: str, evaluation_id: int) -> HttpResponse:
    found = evaluation_for_user(request.user, evaluation_id, project_key=key, bare=True)

    def context() -> dict:
        evaluation = evaluation_for_user(request.user, evaluation_id, project_key=key, defer=("result",))
        return _evaluation_context(evaluation)

    if not found.is_finished:
        # Its progress changes without a change of the project's content version: rendered each time.
        return render(request, "benchmarks/evaluation_detail.html", context())
    return shared_page(request, found.benchmark.project, "benchmarks/evaluation_detail.html", context, found.pk)


@login_required
@require_GET
def evaluation_status(request: HttpRequest, key: str, evaluation_id: int) -> HttpResponse:
    """The evaluation's body, polled by htmx while it is queued or running; it stops polling when done."""
    evaluation = evaluation_for_user(request.user, evaluation_id, project_key=key, defer=("result",))
    return render(request, "benchmarks/partials/evaluation_body.html", _evaluation_context(evaluation))


@login_required
@require_POST
def evaluation_promote(request: HttpRequest, key: str, evaluation_id: int) -> HttpResponse:
    evaluation = evaluation_for_user(request.user, evaluation_id, need=Role.LEAD, project_key=key)
    form = PromoteForm(request.POST)
    form.is_valid()
    try:
        change = services.champion_promote(
            benchmark=evaluation.benchmark,
            evaluation=evaluation,
            user=request.user,
            note=form.cleaned_data.get("note", ""),
            override_reason=form.cleaned_data.get("override_reason", ""),
        )
    except services.PromotionConflict as conflict:
        context = _evaluation_context(evaluation, promote_error=str(conflict), promote_form=form)
        return render(request, "benchmarks/evaluation_detail.html", context, status=409)
    except ValidationError as error:
        context = _evaluation_context(evaluation, promote_error=" ".join(error.messages), promote_form=form)
        return render(request, "benchmarks/evaluation_detail.html", context, status=400)
    what = "baseline champion" if change.is_baseline else "champion"
    messages.success(request, f"{change.run_name} is now the {what} of {evaluation.benchmark.name}.")
    return redirect("benchmark-detail", key=key, benchmark_id=evaluation.benchmark_id)


@login_required
@require_POST
def evaluation_rerun(request: HttpRequest, key: str, evaluation_id: int) -> HttpResponse:
    """Evaluate the run again on the latest dataset against the current champion (a new job when anything
    changed, or always with ``force``)."""
    evaluation = evaluation_for_user(request.user, evaluation_id, need=Role.ENGINEER, project_key=key)
    benchmark = evaluation.benchmark
    dataset = selectors.latest_dataset(benchmark=benchmark)
    if dataset is None:
        messages.error(request, f"{benchmark.name} has no dataset to evaluate on.")
        return redirect("evaluation-detail", key=key, evaluation_id=evaluation.pk)
    dataset.benchmark = benchmark
    try:
        fresh, created = services.evaluation_request(
            run=evaluation.run, dataset=dataset, user=request.user, force=request.POST.get("force") == "1"
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("evaluation-detail", key=key, evaluation_id=evaluation.pk)
    if not created:
        messages.info(request, "Nothing changed since this evaluation: it is reused as it is.")
    return redirect("evaluation-detail", key=key, evaluation_id=fresh.pk)
