"""Writes for benchmark definitions: task, primary metric, threshold and guardrails."""

from __future__ import annotations

import math
from collections.abc import Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from experiments.benchmarks.models import (
    Benchmark,
    BenchmarkTask,
    BenchmarkUnit,
    benchmark_name_validator,
)
from experiments.evaluation import (
    DEFAULT_PRIMARY,
    METRICS,
)
from tickets.models import Project


def _clean_settings(
    *, task: str, primary_metric: str | None, threshold: float, guardrails: Mapping | None
) -> tuple[str, float, dict[str, float]]:
    if task not in BenchmarkTask.values:
        raise ValidationError({"task": f"Unknown task {task!r}; use one of {', '.join(BenchmarkTask.values)}."})
    metrics = METRICS[task]
    primary = primary_metric or DEFAULT_PRIMARY[task]
    if primary not in metrics:
        raise ValidationError(
            {"primary_metric": f"{primary!r} is not a {task} metric; use one of {', '.join(metrics)}."}
        )
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        raise ValidationError({"threshold": f"{threshold!r} is not a number."}) from None
    if not math.isfinite(threshold):
        raise ValidationError({"threshold": "The decision threshold must be a finite number."})
    clean: dict[str, float] = {}
    for metric, margin in (guardrails or {}).items():
        if metric not in metrics:
            raise ValidationError(
                {"guardrails": f"{metric!r} is not a {task} metric; use some of {', '.join(metrics)}."}
            )
        if metric == primary:
            raise ValidationError(
                {"guardrails": f"{metric} is the primary metric; a guardrail protects another metric."}
            )
        try:
            value = float(margin)
        except (TypeError, ValueError):
            raise ValidationError({"guardrails": f"The margin of {metric} must be a number, not {margin!r}."}) from None
        if not math.isfinite(value) or value < 0:
            raise ValidationError(
                {"guardrails": f"The margin of {metric} must be a number ≥ 0 (the largest tolerated regression)."}
            )
        clean[metric] = value
    return primary, threshold, clean


def _clean_unit(unit: str) -> str:
    if unit not in BenchmarkUnit.values:
        raise ValidationError({"unit": f"Unknown unit {unit!r}; use one of {', '.join(BenchmarkUnit.values)}."})
    return unit


def _clean_effect(effect: float | None) -> float | None:
    if effect is None or effect == "":
        return None
    try:
        value = float(effect)
    except (TypeError, ValueError):
        raise ValidationError({"effect_of_interest": f"{effect!r} is not a number."}) from None
    if not math.isfinite(value) or value <= 0:
        raise ValidationError(
            {"effect_of_interest": "The effect of interest must be a number > 0, in the primary metric's unit."}
        )
    return value


def _check_name(project: Project, name: str, *, exclude: int | None = None) -> str:
    name = (name or "").strip()
    try:
        benchmark_name_validator(name)
    except ValidationError as error:
        raise ValidationError({"name": error.messages[0]}) from None
    others = Benchmark.objects.filter(project=project, name=name)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    if others.exists():
        raise ValidationError({"name": f"{project.key} already has a benchmark named {name}."})
    return name


def benchmark_create(
    *,
    project: Project,
    user: AbstractBaseUser | None,
    name: str,
    task: str,
    primary_metric: str | None = None,
    threshold: float = 0.5,
    guardrails: Mapping[str, float] | None = None,
    description: str = "",
    unit: str = BenchmarkUnit.INDEPENDENT,
    effect_of_interest: float | None = None,
) -> Benchmark:
    """A new benchmark without datasets or champion. ``primary_metric`` defaults to the task's usual one.

    ``unit``: whether rows are independent or grouped (by subject, session or device); a grouped benchmark
    accepts only truth files with a ``group`` column. ``effect_of_interest``: the smallest improvement of the
    primary metric worth detecting.
    """
    name = _check_name(project, name)
    unit = _clean_unit(unit or BenchmarkUnit.INDEPENDENT)
    effect_of_interest = _clean_effect(effect_of_interest)
    primary, threshold, guardrails = _clean_settings(
        task=task, primary_metric=primary_metric, threshold=threshold, guardrails=guardrails
    )
    try:
        with transaction.atomic():
            return Benchmark.objects.create(
                project=project,
                name=name,
                task=task,
                primary_metric=primary,
                threshold=threshold,
                guardrails=guardrails,
                description=description,
                unit=unit,
                effect_of_interest=effect_of_interest,
                created_by=user,
            )
    except IntegrityError:
        raise ValidationError({"name": f"{project.key} already has a benchmark named {name}."}) from None


def benchmark_update(
    *,
    benchmark: Benchmark,
    name: str | None = None,
    primary_metric: str | None = None,
    threshold: float | None = None,
    guardrails: Mapping[str, float] | None = None,
    description: str | None = None,
    unit: str | None = None,
    effect_of_interest: float | str | None = "",
) -> Benchmark:
    """Change a benchmark's definition (``effect_of_interest=""`` leaves it as it is, ``None`` clears it).

    Existing evaluations keep the settings they were made with;
    a promotion needs an evaluation made with the current ones."""
    fields = []
    if name is not None and name != benchmark.name:
        benchmark.name = _check_name(benchmark.project, name, exclude=benchmark.pk)
        fields.append("name")
    if primary_metric is not None or threshold is not None or guardrails is not None:
        primary, value, margins = _clean_settings(
            task=benchmark.task,
            primary_metric=primary_metric or benchmark.primary_metric,
            threshold=benchmark.threshold if threshold is None else threshold,
            guardrails=benchmark.guardrails if guardrails is None else guardrails,
        )
        if primary_metric is not None and primary in benchmark.guardrails and guardrails is None:
            raise ValidationError(
                {"primary_metric": f"{primary} is a guardrail of this benchmark; remove it from the guardrails first."}
            )
        benchmark.primary_metric, benchmark.threshold, benchmark.guardrails = primary, value, margins
        fields += ["primary_metric", "threshold", "guardrails"]
    if description is not None:
        benchmark.description = description
        fields.append("description")
    if unit is not None and unit != benchmark.unit:
        # Versions already uploaded keep their groups (or lack of them); the rule applies to new uploads.
        benchmark.unit = _clean_unit(unit)
        fields.append("unit")
    if effect_of_interest != "":
        benchmark.effect_of_interest = _clean_effect(effect_of_interest)
        fields.append("effect_of_interest")
    if fields:
        benchmark.save(update_fields=fields)
    return benchmark
