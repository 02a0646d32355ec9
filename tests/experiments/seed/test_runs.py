"""seed_demo adds real training runs to AUTH, attached to its algorithm tickets, idempotently."""

from __future__ import annotations

import pytest

from experiments.models import Artifact, LatestMetric, Metric, Param, Run
from experiments.seed.runs import DEMO_RUNS, seed_runs
from tests.factories import ProjectFactory, TicketFactory
from tickets.demo import seed_people
from tickets.models import WorkType

pytestmark = pytest.mark.django_db


def _seed() -> None:
    """The runs part of seed_demo on its own: the full command also builds the planning demo's
    tickets, which would take the runs these tests attach by hand."""
    people = seed_people()
    seed_runs(project=people.project, engineer=people.engineer)


def _counts():
    return tuple(m.objects.count() for m in (Run, Param, Metric, LatestMetric, Artifact))


def test_seed_demo_twice_changes_nothing_and_attaches_to_algorithm_tickets(media):
    project = ProjectFactory(key="AUTH", name="Continuous authentication")
    TicketFactory(project=project, work_type=WorkType.LITERATURE_REVIEW)
    algo = [TicketFactory(project=project, work_type=WorkType.ALGORITHM_DEVELOPMENT) for _ in range(2)]
    _seed()
    first = _counts()
    # The demo benchmark adds runs of its own (tests/experiments/test_benchmark_demo.py).
    runs = list(Run.objects.filter(uuid__in=[d.uuid for d in DEMO_RUNS]).select_related("ticket"))
    assert len(runs) == len(DEMO_RUNS)
    assert {r.ticket for r in runs} == set(algo)
    assert all(r.status == "finished" and r.started_by.username == "engineer" for r in runs)
    _seed()
    assert _counts() == first


def test_demo_curves_come_from_real_training(media):
    ProjectFactory(key="AUTH")
    _seed()
    baseline = Run.objects.get(name="sgd-logreg-baseline")
    losses = list(Metric.objects.filter(run=baseline, key="val_loss").order_by("step").values_list("value", flat=True))
    assert len(losses) == 30
    assert len(set(losses)) > 20  # a real curve, not a constant
    assert losses[-1] < losses[0]
    auc = LatestMetric.objects.get(run=baseline, key="val_auc").value
    assert 0.75 < auc < 1.0
    boosting = Run.objects.get(name="gbdt-150-depth-3")
    assert Metric.objects.filter(run=boosting, key="val_auc").count() == 76


def test_without_tickets_runs_are_unattached_then_attach_later(media):
    project = ProjectFactory(key="AUTH")
    _seed()
    assert not Run.objects.filter(ticket__isnull=False).exists()
    ticket = TicketFactory(project=project, work_type=WorkType.ALGORITHM_DEVELOPMENT)
    _seed()
    assert set(Run.objects.values_list("ticket", flat=True)) == {ticket.pk}
