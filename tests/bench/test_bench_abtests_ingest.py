"""The ingestion benchmark's event batches are valid batches of the size the API accepts."""

from __future__ import annotations

import pytest

from bench import bench_abtests_ingest
from experiments.abtests.services.events import parse_batch
from tests.experiments.abtests.helpers import make_test


@pytest.mark.django_db
def test_the_generated_batches_parse_and_follow_the_hash(cast, monkeypatch):
    monkeypatch.setattr(bench_abtests_ingest, "EVENTS", 12_000)
    test = make_test(cast.project, cast.lead, start=True)
    bodies = bench_abtests_ingest._bodies(test.salt)
    assert len(bodies) == 2
    events = parse_batch(test=test, body=bodies[1], content_type="text/csv")
    assert len(events) == 2_000
    assert {e.variant for e in events} == {"champion", "challenger"}
