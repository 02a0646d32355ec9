"""The demo benchmark (seed_demo's benchmark step) is built from synthetic biometric data, real models and
the real engine, once. The full seed_demo is tested with the dashboards' demo."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from experiments.benchmarks.services import media_path
from experiments.evaluation import evaluate, read_predictions, read_truth
from experiments.models import (
    Benchmark,
    ChampionChange,
    Evaluation,
    EvaluationDataset,
    EvaluationStatus,
    PredictionSet,
    Run,
)
from experiments.seed.benchmarks import BENCHMARK_NAME, CHALLENGERS, N_HELD_OUT, seed_benchmark
from tests.experiments.benchmark_helpers import media_root_fixture  # noqa: F401
from tests.factories import ProjectFactory, SprintFactory, TicketFactory, UserFactory
from tickets.models import SprintState, WorkType

pytestmark = pytest.mark.django_db

MODELS = (Benchmark, EvaluationDataset, PredictionSet, Evaluation, ChampionChange, Run)


def _seed(project) -> Benchmark:
    lead = UserFactory(username="lead")
    engineer = UserFactory(username="engineer")
    return seed_benchmark(project=project, lead=lead, engineer=engineer)


def _counts():
    return tuple(m.objects.count() for m in MODELS)


@pytest.fixture
def plan():
    """An AUTH project with the kinds of tickets and sprints the planning demo makes."""
    project = ProjectFactory(key="AUTH", name="Continuous authentication")
    tickets = {
        "rule": TicketFactory(project=project, title="Baseline champion: a hand-written dwell-time rule"),
        "gbm": TicketFactory(project=project, title="Gradient-boosted model on keystroke timings"),
        "fusion": TicketFactory(project=project, title="Fuse motion and typing features in one model"),
        "calibrate": TicketFactory(project=project, title="Calibrate scores into probabilities"),
    }
    now = timezone.now()
    sprints = []
    for number in range(4):
        start = now - dt.timedelta(days=14 * (4 - number))
        closed = number < 3
        sprints.append(
            SprintFactory(
                project=project,
                name=f"Sprint {number + 1}",
                start_date=start.date(),
                end_date=(start + dt.timedelta(days=13)).date(),
                state=SprintState.CLOSED if closed else SprintState.ACTIVE,
                started_at=start,
                closed_at=start + dt.timedelta(days=14) if closed else None,
            )
        )
    return project, tickets, sprints


def test_the_demo_benchmark_is_built_by_the_engine_and_promotes_through_the_gate(plan, media_root):
    project, tickets, sprints = plan
    _seed(project)
    benchmark = Benchmark.objects.get(project=project, name=BENCHMARK_NAME)
    dataset = benchmark.datasets.get()
    assert dataset.n_groups == N_HELD_OUT
    assert set(dataset.class_counts) == {"0", "1"} and min(dataset.class_counts.values()) > 100

    history = list(ChampionChange.objects.filter(benchmark=benchmark).order_by("promoted_at"))
    assert history[0].run_name == "dwell-time-rule" and history[0].previous_run is None
    assert len(history) >= 2, "a trained model should beat the hand-written rule"
    assert benchmark.champion_id == history[-1].run_id
    for change in history:
        assert change.gate_allowed and change.override_reason == ""
        assert change.sprint is not None
        assert change.sprint.started_at <= change.promoted_at
        assert change.sprint.closed_at is None or change.promoted_at < change.sprint.closed_at
    assert history[0].sprint == sprints[0]

    runs = {run.name: run for run in Run.objects.filter(project=project, tags__key="agileml.benchmark")}
    assert set(runs) == {c.name for c in CHALLENGERS}
    assert runs["dwell-time-rule"].ticket == tickets["rule"]
    assert runs["gbm-typing-and-motion"].ticket == tickets["fusion"]
    assert runs["gbm-timings-isotonic"].ticket == tickets["calibrate"]
    assert not Evaluation.objects.exclude(status=EvaluationStatus.SUCCEEDED).exists()
    # Every challenger has been measured against the final champion.
    against_champion = set(
        Evaluation.objects.filter(benchmark=benchmark, champion_run_id=benchmark.champion_id).values_list(
            "run__name", flat=True
        )
    )
    assert against_champion == {c.name for c in CHALLENGERS} - {benchmark.champion.name}

    # Nothing is hard-coded: the stored verdicts are what the engine says for the stored files.
    evaluation = (
        Evaluation.objects.filter(benchmark=benchmark, champion_run_id=benchmark.champion_id)
        .select_related("predictions", "champion_predictions", "dataset")
        .first()
    )
    truth = read_truth(media_path(evaluation.dataset.file), task="binary")
    expected = evaluate(
        task="binary",
        truth=truth,
        predictions=read_predictions(media_path(evaluation.predictions.file), truth=truth),
        champion=read_predictions(media_path(evaluation.champion_predictions.file), truth=truth),
        primary="auc",
        seed=evaluation.seed,
        n_resamples=evaluation.n_resamples,
    )
    assert evaluation.result["comparison"] == expected["comparison"]


def test_seeding_twice_changes_nothing_and_runs_join_tickets_made_later(media_root):
    project = ProjectFactory(key="AUTH")
    _seed(project)
    first = _counts()
    assert not Run.objects.filter(tags__key="agileml.benchmark", ticket__isnull=False).exists()
    assert ChampionChange.objects.filter(sprint__isnull=False).count() == 0  # no sprints yet: none recorded
    _seed(project)
    assert _counts() == first
    ticket = TicketFactory(project=project, work_type=WorkType.ALGORITHM_DEVELOPMENT)
    _seed(project)
    assert _counts() == first
    assert set(Run.objects.filter(tags__key="agileml.benchmark").values_list("ticket", flat=True)) == {ticket.pk}
