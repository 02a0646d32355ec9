"""Per-variant sufficient statistics from the raw events, the engine's analysis, and a snapshot of it.

The engine treats observations as independent units, so events are first reduced to one value per unit
and outcome (the mean of the unit's events) in the database, then summarised per variant. The database
sums the whole history at each look (one query per arm), which makes a run safe to repeat and the order
of batches irrelevant; workers coalesce: a look that finds the statistics already cover the latest batch does nothing.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Avg, Count, F, FloatField, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from experiments.abtests.design import engine_design
from experiments.abtests.models import OnlineEvent, OnlineSnapshot, OnlineTest
from experiments.evaluation.online import SufficientStats, analyse


def _per_unit(test: OnlineTest, variant: str):
    """One row per unit of ``variant``: the mean of its events for every outcome (None where unmeasured)."""
    guardrails = {
        f"g{k}": Avg(Cast(KT(f"guardrails__{g['name']}"), FloatField())) for k, g in enumerate(test.guardrails)
    }
    return (
        OnlineEvent.objects.filter(test_id=test.pk, variant=variant)
        .values("unit")
        .annotate(n=Count("id"), y=Avg("outcome"), x=Avg(Coalesce("covariate", 0.0)), **guardrails)
        .order_by()
    )


def _from_sums(n, sy, syy, sx=0.0, sxx=0.0, sxy=0.0) -> SufficientStats:
    """Statistics from raw sums (the database's): for outcomes of ordinary magnitude the cancellation in
    Σy² − n ȳ² costs a few digits of sixteen, far below what the confidence sequences resolve."""
    if not n:
        return SufficientStats()
    mean, covariate_mean = sy / n, sx / n
    return SufficientStats(
        n=int(n),
        mean=mean,
        m2=max(syy - n * mean * mean, 0.0),
        covariate_mean=covariate_mean,
        covariate_m2=max(sxx - n * covariate_mean * covariate_mean, 0.0),
        comoment=sxy - n * covariate_mean * mean,
    )


def _statistics(test: OnlineTest) -> tuple[dict, int]:
    """``({variant: {outcome: SufficientStats}}, events)``, summed in the database (one query per arm)."""
    stats: dict[str, dict[str, SufficientStats]] = {}
    events = 0
    for variant in test.variants:
        sums = {
            "units": Count("y"),
            "events": Sum("n"),
            "sy": Sum("y"),
            "syy": Sum(F("y") * F("y")),
            "sx": Sum("x"),
            "sxx": Sum(F("x") * F("x")),
            "sxy": Sum(F("x") * F("y")),
        }
        for k in range(len(test.guardrails)):
            sums |= {f"n{k}": Count(f"g{k}"), f"s{k}": Sum(f"g{k}"), f"ss{k}": Sum(F(f"g{k}") * F(f"g{k}"))}
        row = _per_unit(test, variant).aggregate(**sums)
        if not row["units"]:
            continue
        events += row["events"] or 0
        by_metric = {
            test.primary["name"]: _from_sums(
                row["units"], row["sy"], row["syy"], row["sx"] or 0.0, row["sxx"] or 0.0, row["sxy"] or 0.0
            )
        }
        for k, guardrail in enumerate(test.guardrails):
            if row[f"n{k}"]:
                by_metric[guardrail["name"]] = _from_sums(row[f"n{k}"], row[f"s{k}"], row[f"ss{k}"])
        stats[variant] = by_metric
    return stats, events


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
