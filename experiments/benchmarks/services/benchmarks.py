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
) -> Benchmark:
    """A new benchmark without datasets or champion. ``primary_metric`` defaults to the task's usual one."""
    name = _check_name(project, name)
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
) -> Benchmark:
    """Change a benchmark's definition. Existing evaluations keep the settings they were made with;
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
    if fields:
        benchmark.save(update_fields=fields)
    return benchmark
