"""The promotion gate: a lead makes an evaluated run the champion with a compare-and-swap, recorded in the history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from experiments.benchmarks.models import (
    Benchmark,
    ChampionChange,
    Evaluation,
    EvaluationDataset,
    EvaluationStatus,
)
from experiments.benchmarks.selectors import latest_dataset
from experiments.benchmarks.services.announce import announce_champion_promoted
from tickets.attribution import sprint_of_moment
from tickets.models import Project, Sprint

# Called with the new ``ChampionChange`` inside the promotion's transaction (the model registry moves
# ``@champion`` here); registered at start-up, so benchmarks imports none of its readers.
PromotionHook = Callable[..., None]
PROMOTION_HOOKS: list[PromotionHook] = []


def register_promotion_hook(hook: PromotionHook) -> PromotionHook:
    """Decorator: call ``hook(change=)`` after every promotion, in its transaction; it may refuse it."""
    PROMOTION_HOOKS.append(hook)
    return hook


class PromotionConflict(Exception):
    """The champion is not what the evaluation was compared with (someone promoted first)."""


def sprint_at(project: Project, moment: dt.datetime) -> Sprint | None:
    """The sprint active at ``moment`` (:func:`tickets.attribution.sprint_of_moment`), None between sprints."""
    sprints = list(
        Sprint.objects.filter(project=project, started_at__lte=moment).filter(
            Q(closed_at__isnull=True) | Q(closed_at__gt=moment)
        )
    )
    found = sprint_of_moment([s.period for s in sprints], moment)
    return next(s for s in sprints if s.pk == found.id) if found else None


@dataclass(frozen=True)
class PromotionProblem:
    """Why an evaluation cannot justify a promotion now; ``conflict`` when the champion moved on."""

    message: str
    conflict: bool = False


def promotion_problem(
    *, benchmark: Benchmark, evaluation: Evaluation, latest: EvaluationDataset | None
) -> PromotionProblem | None:
    """What stands in the way of promoting ``evaluation``'s run, the gate aside (pages use it to
    disable the button; ``champion_promote`` to refuse). ``benchmark`` must be freshly read."""
    if evaluation.benchmark_id != benchmark.pk:
        return PromotionProblem(f"Evaluation {evaluation.pk} belongs to another benchmark.")
    if evaluation.status != EvaluationStatus.SUCCEEDED:
        return PromotionProblem(
            f"Evaluation {evaluation.pk} is {evaluation.get_status_display().lower()}; "
            "only a succeeded evaluation can justify a promotion."
        )
    if latest is not None and evaluation.dataset_id != latest.pk:
        return PromotionProblem(
            f"Evaluation {evaluation.pk} used dataset {evaluation.dataset.label}, but the benchmark's dataset is "
            f"now {latest.label}; evaluate the run on {latest.label} first."
        )
    if (evaluation.primary_metric, evaluation.threshold, evaluation.guardrails) != (
        benchmark.primary_metric,
        benchmark.threshold,
        benchmark.guardrails,
    ):
        return PromotionProblem(
            f"The benchmark's primary metric, threshold or guardrails changed since evaluation {evaluation.pk}; "
            "evaluate the run again with the current settings."
        )
    if benchmark.champion_id == evaluation.run_id:
        return PromotionProblem(f"{evaluation.run.display_name} is already the champion of {benchmark.name}.", True)
    if evaluation.champion_run_id != benchmark.champion_id:
        was = evaluation.champion_run.display_name if evaluation.champion_run_id else "no champion"
        return PromotionProblem(
            f"The champion changed since evaluation {evaluation.pk} (it was compared with {was}); "
            "evaluate the run again against the current champion.",
            True,
        )
    return None


def champion_promote(
    *,
    benchmark: Benchmark,
    evaluation: Evaluation,
    user: AbstractBaseUser | None,
    note: str = "",
    override_reason: str = "",
    at: dt.datetime | None = None,
) -> ChampionChange:
    """Make the evaluated run the champion: a compare-and-swap on the benchmark's champion.

    The evaluation must be finished, on the latest dataset, made with the current settings and
    compared with the current champion (``promotion_problem``). A failed gate needs
    ``override_reason`` (recorded and shown). When another promotion happened first,
    ``PromotionConflict`` is raised and nothing changes. The history row is written in the same
    transaction as the swap.
    """
    at = at or timezone.now()
    current = Benchmark.objects.select_related("project").get(pk=benchmark.pk)
    problem = promotion_problem(benchmark=current, evaluation=evaluation, latest=latest_dataset(benchmark=current))
    if problem is not None:
        if problem.conflict:
            raise PromotionConflict(problem.message)
        raise ValidationError({"evaluation": problem.message})
    override_reason = (override_reason or "").strip()
    if evaluation.gate_allowed:
        override_reason = ""
    elif not override_reason:
        reasons = "; ".join(evaluation.gate_reasons) or "the gate did not pass"
        raise ValidationError(
            {
                "override_reason": f"The gate failed ({reasons}). A lead may promote anyway only with a written "
                "reason, which is recorded in the champion history."
            }
        )
    run = evaluation.run
    previous = evaluation.champion_run if evaluation.champion_run_id else None
    with transaction.atomic():
        swapped = Benchmark.objects.filter(pk=benchmark.pk, champion_id=evaluation.champion_run_id).update(
            champion=run, champion_since=at
        )
        if swapped != 1:
            raise PromotionConflict(
                f"Another promotion on {current.name} happened first; reload to see the new champion and "
                "evaluate against it."
            )
        change = ChampionChange.objects.create(
            benchmark=benchmark,
            run=run,
            run_name=run.display_name,
            previous_run=previous,
            previous_run_name=previous.display_name if previous else "",
            evaluation=evaluation,
            dataset_id=evaluation.dataset_id,
            ticket_id=run.ticket_id,
            sprint=sprint_at(current.project, at),
            promoted_by=user,
            promoted_at=at,
            note=note.strip(),
            gate_allowed=bool(evaluation.gate_allowed),
            gate_reasons=list(evaluation.gate_reasons),
            override_reason=override_reason,
            primary_metric=evaluation.primary_metric,
            primary_value=evaluation.primary_value,
            primary_ci_low=evaluation.primary_ci_low,
            primary_ci_high=evaluation.primary_ci_high,
            comparison=(evaluation.result or {}).get("comparison"),
        )
        for hook in PROMOTION_HOOKS:
            hook(change=change)
        announce_champion_promoted(change=change, project=current.project)
    benchmark.champion, benchmark.champion_id, benchmark.champion_since = run, run.pk, at
    return change
