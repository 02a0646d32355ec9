"""Per-variant sufficient statistics from the raw events, the engine's analysis, and a snapshot of it.

The engine treats observations as independent units, so events are first reduced to one value per unit
and outcome (the mean of the unit's events) in the database, then summarised per variant. The whole
history is re-read at each look, which makes a run safe to repeat and the order of batches irrelevant;
workers coalesce: a look that finds the statistics already cover the latest batch does nothing.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.db.models import Avg, Count, F, FloatField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from experiments.abtests.design import engine_design
from experiments.abtests.models import OnlineEvent, OnlineSnapshot, OnlineTest
from experiments.evaluation.online import SufficientStats, analyse


def _unit_rows(test: OnlineTest):
    guardrails = {
        f"g{k}": Avg(Cast(KT(f"guardrails__{g['name']}"), FloatField())) for k, g in enumerate(test.guardrails)
    }
    return (
        OnlineEvent.objects.filter(test_id=test.pk)
        .values("variant", "unit")
        .annotate(n=Count("id"), y=Avg("outcome"), x=Avg("covariate"), **guardrails)
        .values_list("variant", "n", "y", "x", *guardrails)
        .order_by()
        .iterator(chunk_size=20_000)
    )


def _statistics(test: OnlineTest) -> tuple[dict, int]:
    """``({variant: {outcome: SufficientStats}}, events)`` from the stored events."""
    names = [g["name"] for g in test.guardrails]
    primary: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    guard: dict[tuple[str, str], list] = defaultdict(list)
    events = 0
    for variant, n, y, x, *gs in _unit_rows(test):
        events += n
        ys, xs = primary[variant]
        ys.append(y)
        xs.append(0.0 if x is None else x)
        for name, value in zip(names, gs, strict=True):
            if value is not None:
                guard[(variant, name)].append(value)
    stats: dict[str, dict[str, SufficientStats]] = defaultdict(dict)
    for variant, (ys, xs) in primary.items():
        stats[variant][test.primary["name"]] = SufficientStats.from_values(ys, xs)
    for (variant, name), values in guard.items():
        stats[variant][name] = SufficientStats.from_values(values)
    return dict(stats), events


def onlinetests_behind() -> list[int]:
    """Tests whose statistics miss a stored batch (their worker's message was lost)."""
    return list(
        OnlineTest.objects.filter(aggregated_version__lt=F("events_version")).values_list("pk", flat=True)[:1000]
    )


def onlinetest_aggregate(*, test_id: int) -> OnlineSnapshot | None:
    """Bring a test's statistics up to its latest batch and store a snapshot; None when already current."""
    test = OnlineTest.objects.filter(pk=test_id).first()
    if test is None or test.events_version == 0 or test.aggregated_version >= test.events_version:
        return None
    version = test.events_version
    stats, events = _statistics(test)
    design = engine_design(arms=test.arms, primary=test.primary, guardrails=test.guardrails, alpha=test.alpha)
    analysis = analyse(design, stats).to_dict()
    now = timezone.now()
    with transaction.atomic():
        # The claim: only a look newer than the stored one is kept (two workers may race).
        changed = OnlineTest.objects.filter(pk=test.pk, aggregated_version__lt=version).update(
            aggregated_version=version, aggregated_at=now, analysis=analysis, n_events=events
        )
        if changed != 1:
            return None
        return OnlineSnapshot.objects.create(
            test_id=test.pk, at=now, version=version, n_events=events, analysis=analysis
        )
