"""Events sent through the API are aggregated by a real Celery worker into statistics and snapshots."""

from __future__ import annotations

import pytest

from experiments.abtests import services
from experiments.abtests.models import OnlineSnapshot, OnlineTest
from experiments.abtests.tasks import abtest_sweep
from tests.conftest import wait_until
from tests.experiments.abtests.helpers import events, jsonl, make_test

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _current(test_id: int) -> OnlineTest | None:
    test = OnlineTest.objects.get(pk=test_id)
    return test if test.events_version and test.aggregated_version == test.events_version else None


def test_a_worker_aggregates_each_batch_into_statistics_and_a_snapshot(api, cast, celery_worker):
    test = make_test(cast.project, cast.lead, start=True)
    client = api(cast.engineer)
    rows = events(test, 3000)
    for start in (0, 1000, 2000):
        body = jsonl(rows[start : start + 1000]).encode()
        response = client.generic("POST", f"/api/v1/abtests/{test.pk}/events/", body, content_type="text/plain")
        assert response.status_code == 200, response.content
    fresh = wait_until(lambda: _current(test.pk), timeout=60, what="the worker's aggregation")
    assert fresh.n_events == 3000
    assert sum(arm["units"] for arm in fresh.analysis["arms"]) == 3000
    expected = {v: sum(1 for r in rows if r["variant"] == v) for v in ("champion", "challenger")}
    assert {arm["variant"]: arm["units"] for arm in fresh.analysis["arms"]} == expected
    snapshots = list(OnlineSnapshot.objects.filter(test=test).order_by("version"))
    assert snapshots and snapshots[-1].version == 3 and snapshots[-1].n_events == 3000
    # The worker's result equals the service's, and a current test is left alone.
    assert services.onlinetest_aggregate(test_id=test.pk) is None
    body = api(cast.stakeholder).get(f"/api/v1/abtests/{test.pk}/").json()
    assert body["difference"]["estimate"] == pytest.approx(fresh.analysis["challengers"][0]["primary"]["estimate"])


def test_the_sweeper_catches_up_a_test_whose_message_was_lost(cast, celery_worker, settings):
    settings.ABTESTS_AGGREGATE_ON_INGEST = False  # the nudge is "lost"
    test = make_test(cast.project, cast.lead, start=True)
    services.events_ingest(test=test, body=jsonl(events(test, 500)), content_type="application/x-ndjson")
    assert OnlineTest.objects.get(pk=test.pk).aggregated_version == 0
    assert abtest_sweep() == 1
    fresh = wait_until(lambda: _current(test.pk), timeout=60, what="the swept aggregation")
    assert fresh.n_events == 500
