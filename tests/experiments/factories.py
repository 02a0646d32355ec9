"""Factories for runs. Metric points go through the service so latest values stay right."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from experiments.models import Param, Run, RunStatus, Tag
from experiments.tracking import services
from tests.factories import ProjectFactory


class RunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Run

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"run-{n}")
    status = RunStatus.FINISHED
    start_time = factory.Sequence(lambda n: timezone.now() - dt.timedelta(hours=1000 - n))


class ParamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Param

    run = factory.SubFactory(RunFactory)
    key = factory.Sequence(lambda n: f"param{n}")
    value = "1"


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    run = factory.SubFactory(RunFactory)
    key = factory.Sequence(lambda n: f"tag{n}")
    value = "x"


def log_history(run: Run, key: str, values: list[float], *, start_ms: int = 1_700_000_000_000) -> None:
    """Log ``values`` as steps 0..n-1 of metric ``key``."""
    points = [services.MetricPoint(key=key, value=v, step=i, timestamp=start_ms + i) for i, v in enumerate(values)]
    for start in range(0, len(points), services.MAX_METRICS_PER_BATCH):
        services.run_log(run=run, metrics=points[start : start + services.MAX_METRICS_PER_BATCH])
