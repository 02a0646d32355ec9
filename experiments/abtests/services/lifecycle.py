"""An online test's life: a draft is created, started (assignment and events open), and stopped with a
decision. ``ship`` makes the challenger the champion through the benchmark's promotion gate, with the
online evidence in the champion history; the gate's refusal refuses the stop and changes nothing."""

from __future__ import annotations

import re

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from experiments.abtests.design import engine_design
from experiments.abtests.models import AbTestDecision, AbTestState, OnlineTest
from experiments.benchmarks import services as benchmark_services
from experiments.benchmarks.models import Benchmark, Evaluation, EvaluationStatus
from experiments.benchmarks.selectors import latest_dataset
from experiments.evaluation.online import DesignError
from experiments.tracking.models import Run

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Columns of an event batch; an outcome may not take one of these names.
RESERVED = {"event_id", "unit", "variant", "outcome", "covariate", "timestamp"}


def design_cache_key(test_id: int) -> str:
    return f"abtests:design:{test_id}"


def _forget_design(test_id: int) -> None:
    # Now, and again once committed, so no request in between can cache the old state for long.
    cache.delete(design_cache_key(test_id))
    transaction.on_commit(lambda: cache.delete(design_cache_key(test_id)))


def _check_names(arms: list[dict], primary: dict, guardrails: list[dict]) -> None:
    for k, arm in enumerate(arms):
        if not NAME_PATTERN.match(str(arm.get("variant", ""))):
            raise ValidationError({f"arms[{k}].variant": "Use up to 64 letters, digits, dots, dashes or underscores."})
    for where, metric in [("primary", primary)] + [(f"guardrails[{k}]", g) for k, g in enumerate(guardrails)]:
        name = str(metric.get("name", ""))
        if not NAME_PATTERN.match(name):
            raise ValidationError({f"{where}.name": "Use up to 64 letters, digits, dots, dashes or underscores."})
        if name in RESERVED:
            raise ValidationError({f"{where}.name": f"{name!r} is a column of every event; choose another name."})


def _check_runs(benchmark: Benchmark, arms: list[dict]) -> None:
    ids = [arm["run"] for arm in arms]
    if len(set(ids)) != len(ids):
        raise ValidationError({"arms": "Each arm must be a different run."})
    found = set(Run.objects.filter(project_id=benchmark.project_id, pk__in=ids).values_list("pk", flat=True))
    for k, arm in enumerate(arms):
        if arm["run"] not in found:
            raise ValidationError({f"arms[{k}].run": f"{benchmark.project.key} has no run {arm['run']}."})
    if benchmark.champion_id is not None and arms[0]["run"] != benchmark.champion_id:
        raise ValidationError(
            {
                "arms[0].run": f"The first arm is the champion: run {benchmark.champion_id} is "
                f"{benchmark.name}'s champion."
            }
        )


def onlinetest_create(
    *,
    benchmark: Benchmark,
    user: AbstractBaseUser | None,
    name: str,
    arms: list[dict],
    primary: dict,
    guardrails: list[dict] | None = None,
    unit: str = "user",
    alpha: float = 0.05,
    description: str = "",
) -> OnlineTest:
    """A draft test of ``benchmark``: ``arms`` ``[{"variant", "run", "weight"}]`` with the champion first.

    The design is checked by the engine (``DesignError`` becomes a ValidationError naming the field), the
    runs must belong to the benchmark's project and the first arm must be the current champion, if any.
    """
    guardrails = list(guardrails or [])
    arms = [{"variant": a["variant"], "run": int(a["run"]), "weight": float(a.get("weight", 1))} for a in arms]
    _check_names(arms, primary, guardrails)
    try:
        engine_design(arms=arms, primary=primary, guardrails=guardrails, alpha=alpha)
    except DesignError as error:
        raise ValidationError({error.field: str(error).removeprefix(f"{error.field}: ")}) from None
    _check_runs(benchmark, arms)
    return OnlineTest.objects.create(
        benchmark=benchmark,
        name=name.strip(),
        description=description.strip(),
        unit=unit,
        arms=arms,
        primary=primary,
        guardrails=guardrails,
        alpha=alpha,
        created_by=user,
    )


def onlinetest_start(*, test: OnlineTest, user: AbstractBaseUser | None) -> OnlineTest:
    """Draft → running: assignment answers and events are accepted from now on."""
    with transaction.atomic():
        now = timezone.now()
        changed = OnlineTest.objects.filter(pk=test.pk, state=AbTestState.DRAFT).update(
            state=AbTestState.RUNNING, started_at=now
        )
        if changed != 1:
            raise ValidationError({"state": f"Only a draft can be started; this test is {_state_of(test)}."})
        _forget_design(test.pk)
    test.state, test.started_at = AbTestState.RUNNING, now
    return test


def _state_of(test: OnlineTest) -> str:
    return OnlineTest.objects.filter(pk=test.pk).values_list("state", flat=True).first() or test.state


def _evidence(test: OnlineTest, variant: str) -> tuple[str, dict]:
    analysis = test.analysis or {}
    for challenger in analysis.get("challengers", []):
        if challenger["variant"] == variant:
            p = challenger["primary"]
            units = {arm["variant"]: arm["units"] for arm in analysis.get("arms", [])}
            text = (
                f"Online test #{test.pk} “{test.name}”: {variant} − {test.champion_variant} on {p['metric']} "
                f"Δ {p['estimate']:+.4g} (always-valid {1 - p['level']:.1%} confidence sequence {p['cs_low']:+.4g} "
                f"to {p['cs_high']:+.4g}, p = {p['p_value']:.2g}); units "
                + ", ".join(f"{k} {v:,}" for k, v in units.items())
                + "."
            )
            return text, challenger
    return "", {}


def _ship_refusals(test: OnlineTest, variant: str) -> list[str]:
    """Why the online evidence does not support shipping ``variant`` (empty when it does)."""
    analysis = test.analysis or {}
    if not analysis:
        return ["No events have been analysed yet."]
    if analysis.get("srm", {}).get("flagged"):
        return ["The sample-ratio check failed: the split is not the planned one, so the results cannot be trusted."]
    if analysis.get("decision") == "ship_challenger" and analysis.get("variant") == variant:
        return []
    reasons = list(analysis.get("reasons") or [])
    return reasons or [
        f"The online statistics do not support shipping {variant} (decision: {analysis.get('decision')})."
    ]


def _challenger_evaluation(test: OnlineTest, run_id: int) -> Evaluation | None:
    benchmark = test.benchmark
    dataset = latest_dataset(benchmark=benchmark)
    rows = Evaluation.objects.select_related("run", "champion_run", "dataset").filter(
        benchmark=benchmark, run_id=run_id, status=EvaluationStatus.SUCCEEDED
    )
    if dataset is not None:
        rows = rows.filter(dataset=dataset)
    return rows.order_by("-finished_at", "-pk").first()


def _ship(test: OnlineTest, variant: str, user, note: str, override_reason: str) -> None:
    refusals = _ship_refusals(test, variant)
    if refusals:
        raise ValidationError({"decision": " ".join(refusals)})
    run_id = next(arm["run"] for arm in test.arms if arm["variant"] == variant)
    evaluation = _challenger_evaluation(test, run_id)
    if evaluation is None:
        raise ValidationError(
            {
                "decision": f"The promotion gate needs an evaluation of run {run_id} on {test.benchmark.name}'s "
                "current dataset; request one first."
            }
        )
    text, challenger = _evidence(test, variant)
    try:
        change = benchmark_services.champion_promote(
            benchmark=test.benchmark,
            evaluation=evaluation,
            user=user,
            note="\n".join(part for part in (text, note.strip()) if part),
            override_reason=override_reason,
        )
    except benchmark_services.PromotionConflict as conflict:
        raise ValidationError({"decision": f"The promotion gate refused: {conflict}"}) from None
    except ValidationError as error:
        messages = [m for values in getattr(error, "message_dict", {"": error.messages}).values() for m in values]
        raise ValidationError({"decision": "The promotion gate refused: " + " ".join(messages)}) from None
    if challenger:
        change.comparison = {**(change.comparison or {}), "online": challenger, "online_test": test.pk}
        change.save(update_fields=["comparison"])
    test.champion_change = change


def onlinetest_stop(
    *,
    test: OnlineTest,
    user: AbstractBaseUser | None,
    decision: str,
    variant: str = "",
    note: str = "",
    override_reason: str = "",
) -> OnlineTest:
    """Running → stopped with a decision. ``ship`` needs the online statistics to support shipping
    ``variant`` (by default the one they name) and the benchmark's promotion gate to accept the run;
    otherwise a ValidationError on ``decision`` gives the reasons and nothing changes."""
    from experiments.abtests.services.aggregation import onlinetest_aggregate

    if decision not in AbTestDecision.values:
        raise ValidationError({"decision": f"Use one of {', '.join(AbTestDecision.values)}."})
    if test.state != AbTestState.RUNNING:
        raise ValidationError({"state": f"Only a running test can be stopped; this test is {test.state}."})
    # Decide on every event received so far, not on the last worker's look.
    onlinetest_aggregate(test_id=test.pk)
    # Only the statistics and state: the joined benchmark (with the caller's role) stays.
    test.refresh_from_db(fields=["state", "analysis", "aggregated_version", "aggregated_at", "n_events"])
    if decision == AbTestDecision.SHIP:
        variant = variant or (test.analysis or {}).get("variant") or ""
        if not variant and len(test.variants) == 2:
            variant = test.variants[1]
        if variant not in test.variants[1:]:
            raise ValidationError({"variant": f"Name the challenger to ship: one of {', '.join(test.variants[1:])}."})
    else:
        variant = ""
    with transaction.atomic():
        if OnlineTest.objects.select_for_update().filter(pk=test.pk, state=AbTestState.RUNNING).count() != 1:
            raise ValidationError({"state": "This test was stopped meanwhile."})
        if decision == AbTestDecision.SHIP:
            _ship(test, variant, user, note, override_reason)
        test.state, test.decision, test.decision_variant = AbTestState.STOPPED, decision, variant
        test.decision_note, test.stopped_at, test.stopped_by = note.strip(), timezone.now(), user
        test.save(
            update_fields=[
                "state", "decision", "decision_variant", "decision_note", "stopped_at", "stopped_by",
                "champion_change",
            ]
        )  # fmt: skip
        _forget_design(test.pk)
    return test
