"""Demo online test for project AUTH: the demo benchmark's champion against the best other challenger on
(synthetic) live traffic, so the test's page, the demo and the dashboards show a running test at once.

The events are **synthetic**, drawn from a fixed seed: each unit (a user) is assigned by the test's own
hash, succeeds in authenticating with a rate that depends on its arm, and reports a latency guardrail.
They go through ``events_ingest`` and ``onlinetest_aggregate`` (the service the workers call) in a few
batches, so the test's history has several looks. Idempotent: nothing happens when the test exists.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from experiments.abtests import services
from experiments.abtests.models import OnlineTest
from experiments.benchmarks.models import Benchmark, Evaluation
from experiments.evaluation.online import Assigner

TEST_NAME = "Calibrated model on live unlock attempts"
SEED = 19
BATCHES = 4
PER_BATCH = 1000
# Authentication success per arm; the challenger is a little better, which the test can tell after a while.
SUCCESS = {"champion": 0.86, "challenger": 0.89}
LATENCY_MS = {"champion": 42.0, "challenger": 45.0}


def _challenger(benchmark: Benchmark):
    """The run that scored best against the champion offline (the natural one to try online)."""
    evaluation = (
        Evaluation.objects.filter(benchmark=benchmark, champion_run=benchmark.champion_id, primary_value__isnull=False)
        .exclude(run=benchmark.champion_id)
        .select_related("run")
        .order_by("-primary_value", "pk")
        .first()
    )
    return evaluation.run if evaluation is not None else None


def synthetic_events(test: OnlineTest, *, seed: int = SEED, n: int = BATCHES * PER_BATCH) -> list[dict]:
    """``n`` events of distinct users over the last hours, one per user, assigned by the test's hash."""
    rng = np.random.default_rng(seed)
    assigner = Assigner(test.salt, [(arm["variant"], arm["weight"]) for arm in test.arms])
    start = (test.started_at or timezone.now()) - dt.timedelta(hours=6)
    rows = []
    for k in range(n):
        unit = f"user-{k:05d}"
        variant = assigner.assign(unit)
        rows.append(
            {
                "event_id": f"demo-{k:05d}",
                "unit": unit,
                "variant": variant,
                "outcome": int(rng.random() < SUCCESS[variant]),
                "latency_ms": round(float(rng.normal(LATENCY_MS[variant], 8.0)), 2),
                "timestamp": (start + dt.timedelta(seconds=5 * k)).isoformat(),
            }
        )
    return rows


def seed_online_test(*, benchmark: Benchmark, lead: AbstractBaseUser) -> OnlineTest | None:
    """Create and start the demo test with a few thousand aggregated events, unless it exists (None when
    the benchmark has no champion and challenger to compare)."""
    existing = OnlineTest.objects.filter(benchmark=benchmark, name=TEST_NAME).first()
    if existing is not None:
        return existing
    challenger = _challenger(benchmark)
    if benchmark.champion_id is None or challenger is None:
        return None
    with transaction.atomic():
        test = services.onlinetest_create(
            benchmark=benchmark,
            user=lead,
            name=TEST_NAME,
            description="Half of the unlock attempts use the challenger; does it let owners in more often?",
            arms=[
                {"variant": "champion", "run": benchmark.champion_id, "weight": 1},
                {"variant": "challenger", "run": challenger.pk, "weight": 1},
            ],
            primary={"name": "authenticated", "kind": "binary", "higher_is_better": True, "min_effect": 0.01},
            guardrails=[{"name": "latency_ms", "kind": "continuous", "higher_is_better": False, "margin": 10.0}],
        )
        services.onlinetest_start(test=test, user=lead)
        rows = synthetic_events(test)
        for k in range(BATCHES):
            batch = rows[k * PER_BATCH : (k + 1) * PER_BATCH]
            body = "\n".join(json.dumps(row) for row in batch) + "\n"
            services.events_ingest(test=test, body=body, content_type="application/x-ndjson")
            services.onlinetest_aggregate(test_id=test.pk)
    return OnlineTest.objects.get(pk=test.pk)
