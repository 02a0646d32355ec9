"""Search fixtures: one of every searchable thing in project AUTH, and one in project OTHER."""

from __future__ import annotations

import pytest
from django.utils import timezone

from experiments.models import Benchmark, Param, Run, Tag
from tests.factories import EpicFactory, ProjectFactory, TicketFactory
from tickets.models import Comment, TicketStatus

HOSTILE = "x');alert(1);('"


@pytest.fixture
def corpus(cast):
    project = cast.project
    now = timezone.now()
    titled = TicketFactory(project=project, title="Gyroscope features for typing", status=TicketStatus.DONE)
    described = TicketFactory(
        project=project, title="Threshold tuning", description="Compare the gyroscope signal with the baseline."
    )
    answered = TicketFactory(project=project, title="Does motion help?", answer="Yes: gyroscope adds 0.02 AUC.")
    commented = TicketFactory(project=project, title="Data cleaning")
    Comment.objects.create(
        ticket=commented, author=cast.engineer, body="The gyroscope log is noisy on day 3.", created_at=now
    )
    hostile = TicketFactory(project=project, title=f"{HOSTILE} gyroscope <script>alert(2)</script>")
    TicketFactory(project=project, title="Unrelated work")
    run = Run.objects.create(project=project, name="gyroscope-xgb", start_time=now, started_by=cast.engineer)
    tagged = Run.objects.create(project=project, name="plain-run", start_time=now, started_by=cast.engineer)
    Tag.objects.create(run=tagged, key="feature_set", value="gyroscope")
    with_param = Run.objects.create(project=project, name="param-run", start_time=now, started_by=cast.engineer)
    Param.objects.create(run=with_param, project=project, key="sensor", value="gyroscope")
    epic = EpicFactory(project=project, title="Motion signals", goal="Use the gyroscope to cut false rejects.")
    benchmark = Benchmark.objects.create(
        project=project, name="holdout", task="binary", primary_metric="auc", description="Gyroscope subjects held out."
    )
    # The same word in another project must never show up.
    other = ProjectFactory(key="SECRET")
    TicketFactory(project=other, title="Gyroscope secret plan")
    return {
        "titled": titled, "described": described, "answered": answered, "commented": commented, "hostile": hostile,
        "run": run, "tagged": tagged, "with_param": with_param, "epic": epic, "benchmark": benchmark,
    }  # fmt: skip
