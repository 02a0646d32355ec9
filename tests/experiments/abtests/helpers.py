"""Online tests built through the services, and batches of synthetic outcome events."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np

from experiments.abtests import services
from experiments.abtests.models import OnlineTest
from experiments.evaluation.online import Assigner
from tests.experiments.benchmark_helpers import make_benchmark, make_run

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def make_test(project, user, *, benchmark=None, runs=None, start: bool = False, cuped: bool = False, **fields):
    """A draft (or running) test champion vs challenger on a binary outcome with a latency guardrail."""
    benchmark = benchmark or make_benchmark(project, user)
    if runs is None:
        runs = [make_run(project, user, "champion-model"), make_run(project, user, "challenger-model")]
    fields.setdefault("name", "Lock-out rate")
    fields.setdefault(
        "arms", [{"variant": "champion", "run": runs[0].pk}, {"variant": "challenger", "run": runs[1].pk}]
    )
    fields.setdefault("primary", {"name": "authenticated", "kind": "binary", "min_effect": 0.02, "cuped": cuped})
    fields.setdefault(
        "guardrails", [{"name": "latency_ms", "kind": "continuous", "higher_is_better": False, "margin": 20.0}]
    )
    test = services.onlinetest_create(benchmark=benchmark, user=user, **fields)
    test.benchmark = benchmark
    if start:
        services.onlinetest_start(test=test, user=user)
    return test


def events(
    test: OnlineTest,
    n: int,
    *,
    rates: dict[str, float] | None = None,
    seed: int = 1,
    start: int = 0,
    latency: dict[str, float] | None = None,
) -> list[dict]:
    """``n`` events of distinct units, assigned by the test's hash, with the given success rate per arm."""
    rng = np.random.default_rng(seed)
    assigner = Assigner(test.salt, [(a["variant"], a["weight"]) for a in test.arms])
    rates = rates or {"champion": 0.80, "challenger": 0.90}
    latency = latency or {}
    rows = []
    for k in range(start, start + n):
        unit = f"user-{k}"
        variant = assigner.assign(unit)
        rows.append(
            {
                "event_id": f"e-{k}",
                "unit": unit,
                "variant": variant,
                "outcome": int(rng.random() < rates.get(variant, 0.8)),
                "latency_ms": round(float(rng.normal(latency.get(variant, 100.0), 10.0)), 3),
                "timestamp": (T0 + dt.timedelta(seconds=k)).isoformat(),
            }
        )
    return rows


def jsonl(rows: list[dict]) -> str:
    return "\n".join(json.dumps(row) for row in rows) + "\n"


def csv_text(rows: list[dict], columns: list[str] | None = None) -> str:
    columns = columns or list(rows[0])
    lines = [",".join(columns)] + [",".join(str(row.get(c, "")) for c in columns) for row in rows]
    return "\n".join(lines) + "\n"
