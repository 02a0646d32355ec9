"""Benchmark events: a finished evaluation and a promotion are published with the verdict and the gate."""

from __future__ import annotations

import pytest

from agileml import events
from tests.experiments.benchmark_helpers import (  # noqa: F401
    crown,
    make_benchmark,
    make_run,
    media_root_fixture,
    submit,
    write_binary_case,
)


@pytest.fixture
def heard():
    got: list[events.Event] = []
    events.subscribe(got.append)
    yield got
    events.unsubscribe(got.append)


@pytest.mark.django_db
def test_evaluation_finished_and_champion_promoted_are_published(cast, tmp_path, settings, media_root, heard):
    settings.EVALUATION_RESAMPLES = 200
    case = write_binary_case(tmp_path / "case", n_subjects=20, rows_per_subject=10)
    bench = make_benchmark(cast.project, cast.lead, case)
    dataset = bench.datasets.get()
    baseline = submit(make_run(cast.project, cast.engineer, "rule"), dataset, cast.engineer, case.champion)
    crown(bench, baseline, cast.lead)
    challenger = submit(make_run(cast.project, cast.engineer, "model"), dataset, cast.engineer, case.challenger)

    finished = [e for e in heard if e.type == events.EVALUATION_FINISHED]
    assert [e.payload["evaluation"] for e in finished] == [baseline.pk, challenger.pk]
    last = finished[-1].payload
    assert last["status"] == "succeeded" and last["verdict"] == challenger.verdict
    assert last["sentence"] and last["benchmark_name"] == "holdout"
    assert finished[-1].actor_username == "engineer"
    (promoted,) = [e for e in heard if e.type == events.CHAMPION_PROMOTED]
    assert promoted.payload["run"] == "rule" and promoted.payload["previous_run"] is None
    assert promoted.payload["gate_allowed"] is True and promoted.actor_username == "lead"
