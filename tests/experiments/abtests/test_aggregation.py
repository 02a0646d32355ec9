"""The database's per-variant sums equal the engine's statistics of the per-unit means (slow reference)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from experiments.abtests import services
from experiments.abtests.models import OnlineSnapshot, OnlineTest
from experiments.abtests.services.aggregation import _statistics
from experiments.evaluation.online import SufficientStats
from tests.experiments.abtests.helpers import make_test

pytestmark = pytest.mark.django_db


def _batch(rows) -> str:
    return "\n".join(json.dumps(r) for r in rows) + "\n"


def test_units_with_several_events_count_once_with_their_mean(cast):
    test = make_test(
        cast.project,
        cast.lead,
        start=True,
        cuped=True,
        primary={"name": "spend", "kind": "continuous", "min_effect": 1.0, "cuped": True},
    )
    rng = np.random.default_rng(5)
    rows, by_unit = [], {}
    for k in range(600):
        unit, variant = f"u{k % 250}", ("champion", "challenger")[(k % 250) % 2]
        y, x = float(np.round(rng.normal(50, 8), 3)), float((k % 250) % 17)
        row = {"event_id": f"e{k}", "unit": unit, "variant": variant, "outcome": y, "covariate": x, "timestamp": k}
        if k % 3:
            row["latency_ms"] = float(np.round(rng.normal(100, 5), 3))
        rows.append(row)
        by_unit.setdefault((variant, unit), []).append(row)
    services.events_ingest(test=test, body=_batch(rows), content_type="application/x-ndjson")
    stats, events = _statistics(OnlineTest.objects.get(pk=test.pk))
    assert events == 600
    for variant in ("champion", "challenger"):
        units = [rs for (v, _), rs in by_unit.items() if v == variant]
        ys = [np.mean([r["outcome"] for r in rs]) for rs in units]
        xs = [np.mean([r["covariate"] for r in rs]) for rs in units]
        expected = SufficientStats.from_values(ys, xs)
        got = stats[variant]["spend"]
        assert got.n == expected.n == 125
        for field in ("mean", "m2", "covariate_mean", "covariate_m2", "comoment"):
            assert getattr(got, field) == pytest.approx(getattr(expected, field), rel=1e-9, abs=1e-9), field
        lat = [np.mean(v) for rs in units if (v := [r["latency_ms"] for r in rs if "latency_ms" in r])]
        reference = SufficientStats.from_values(lat)
        assert stats[variant]["latency_ms"].n == reference.n
        assert stats[variant]["latency_ms"].m2 == pytest.approx(reference.m2, rel=1e-9)


def test_a_look_is_stored_once_per_new_batch(cast):
    test = make_test(cast.project, cast.lead, start=True)
    assert services.onlinetest_aggregate(test_id=test.pk) is None  # nothing to aggregate yet
    row = {"event_id": "a", "unit": "u", "variant": "champion", "outcome": 1, "timestamp": 1}
    services.events_ingest(test=test, body=_batch([row]), content_type="application/x-ndjson")
    first = services.onlinetest_aggregate(test_id=test.pk)
    assert first is not None and first.version == 1 and first.n_events == 1
    assert services.onlinetest_aggregate(test_id=test.pk) is None
    assert OnlineSnapshot.objects.filter(test=test).count() == 1
    fresh = OnlineTest.objects.get(pk=test.pk)
    assert fresh.analysis["decision"] == "insufficient_data"
