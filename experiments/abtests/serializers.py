"""Input and output shapes of the online-test API (the OpenAPI schema is built from these)."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from experiments.abtests.models import AbTestDecision, AbTestState, AbTestUnit, OnlineTest
from experiments.evaluation.online import KINDS


# --- input ---------------------------------------------------------------------------------------
class AbTestArmInput(serializers.Serializer):
    variant = serializers.CharField(max_length=64, help_text="The name production and events use for this arm.")
    run = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="The run this arm serves (the first arm: the champion)."
    )
    weight = serializers.FloatField(default=1.0, min_value=0, help_text="Relative share of traffic (1:1 is 50/50).")


class AbTestPrimaryInput(serializers.Serializer):
    name = serializers.CharField(max_length=64, help_text='The outcome, e.g. "authenticated_without_lockout".')
    kind = serializers.ChoiceField(choices=KINDS, default="binary", help_text="binary (0/1 per event) or continuous.")
    higher_is_better = serializers.BooleanField(default=True)
    min_effect = serializers.FloatField(help_text="The smallest improvement that matters, in outcome units (> 0).")
    cuped = serializers.BooleanField(
        default=False, help_text="Adjust with the events' pre-period `covariate` column (then every event needs one)."
    )


class AbTestGuardrailInput(serializers.Serializer):
    name = serializers.CharField(max_length=64, help_text="The outcome; events carry it in a column of this name.")
    kind = serializers.ChoiceField(choices=KINDS, default="binary")
    higher_is_better = serializers.BooleanField(default=True)
    margin = serializers.FloatField(help_text="The largest tolerated regression, in outcome units (> 0).")


class AbTestCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    unit = serializers.ChoiceField(
        choices=AbTestUnit.choices, default=AbTestUnit.USER, help_text="Unit of randomisation."
    )
    arms = AbTestArmInput(
        many=True, help_text="The champion first, then one or more challengers; weights set the split."
    )
    primary = AbTestPrimaryInput()
    guardrails = AbTestGuardrailInput(many=True, required=False, default=list)
    alpha = serializers.FloatField(default=0.05, help_text="Error level over all looks and challengers (0 < α < 0.5).")


class AbTestStopInput(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=AbTestDecision.choices,
        help_text="ship (the challenger becomes the champion through the promotion gate), keep_champion, inconclusive.",
    )
    variant = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="The challenger to ship; default the one the statistics name.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="When the offline gate of the challenger's evaluation failed: a lead's written reason (recorded).",
    )


# --- output --------------------------------------------------------------------------------------
class AbTestArmOutput(serializers.Serializer):
    variant = serializers.CharField()
    run = serializers.IntegerField()
    run_name = serializers.CharField()
    weight = serializers.FloatField()
    champion = serializers.BooleanField()
    units = serializers.IntegerField(help_text="Units with a primary outcome so far.")
    estimate = serializers.FloatField(
        allow_null=True, help_text="Mean primary outcome of the arm (None without units)."
    )


class AbTestDifferenceOutput(serializers.Serializer):
    variant = serializers.CharField(help_text="The challenger compared with the champion.")
    metric = serializers.CharField()
    verdict = serializers.CharField(help_text="better, worse, no_meaningful_lift, keep_running or insufficient_data.")
    estimate = serializers.FloatField(allow_null=True, help_text="Challenger − champion.")
    cs_low = serializers.FloatField(allow_null=True, help_text="Always-valid confidence sequence, lower bound.")
    cs_high = serializers.FloatField(allow_null=True)
    p_value = serializers.FloatField(allow_null=True, help_text="Always-valid p-value, adjusted for the challengers.")
    reason = serializers.CharField(allow_null=True)


class AbTestComparisonOutput(AbTestDifferenceOutput):
    role = serializers.CharField()
    margin = serializers.FloatField(allow_null=True)
    cuped = serializers.BooleanField()


class AbTestChallengerOutput(serializers.Serializer):
    variant = serializers.CharField()
    primary = AbTestComparisonOutput()
    guardrails = AbTestComparisonOutput(many=True)
    decision = serializers.CharField(help_text="ship, keep_champion, keep_running or insufficient_data.")
    reasons = serializers.ListField(child=serializers.CharField())


class AbTestSrmOutput(serializers.Serializer):
    p_value = serializers.FloatField(allow_null=True)
    flagged = serializers.BooleanField(help_text="True: the split is not the planned one; do not trust the results.")
    reason = serializers.CharField(allow_null=True)


class AbTestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    benchmark = serializers.IntegerField()
    project = serializers.CharField()
    unit = serializers.ChoiceField(choices=AbTestUnit.choices)
    state = serializers.ChoiceField(choices=AbTestState.choices)
    salt = serializers.CharField(help_text="The assignment key (see the README for the hash).")
    arms = AbTestArmOutput(many=True)
    primary = serializers.DictField()
    guardrails = serializers.ListField(child=serializers.DictField())
    alpha = serializers.FloatField()
    difference = AbTestDifferenceOutput(
        help_text="The primary comparison of the leading challenger (estimates None until enough events)."
    )
    srm = AbTestSrmOutput()
    recommendation = serializers.CharField(
        allow_null=True,
        help_text="What the statistics support now: ship_challenger, keep_champion, keep_running, "
        "sample_ratio_mismatch or insufficient_data (None before any events).",
    )
    recommended_variant = serializers.CharField(allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())
    decision = serializers.ChoiceField(choices=AbTestDecision.choices, allow_null=True, help_text="Set when stopped.")
    decision_variant = serializers.CharField(allow_blank=True)
    decision_note = serializers.CharField(allow_blank=True)
    champion_change = serializers.IntegerField(allow_null=True, help_text="The champion history row of a ship.")
    n_events = serializers.IntegerField()
    aggregated_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    stopped_at = serializers.DateTimeField(allow_null=True)
    page = serializers.CharField(help_text="The dashboard page of the test.")


class AbTestDetailOutput(AbTestOutput):
    challengers = AbTestChallengerOutput(many=True)


class AbTestAssignmentOutput(serializers.Serializer):
    test = serializers.IntegerField()
    unit = serializers.CharField()
    variant = serializers.CharField()
    state = serializers.ChoiceField(choices=AbTestState.choices)


class AbTestIngestOutput(serializers.Serializer):
    received = serializers.IntegerField(help_text="Events in the batch.")
    stored = serializers.IntegerField(help_text="New events stored.")
    duplicates = serializers.IntegerField(help_text="Events already stored (same event_id), skipped.")


class AbTestLineErrorOutput(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True, help_text="Line of the batch (a CSV header is line 1).")
    column = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class AbTestBatchErrorOutput(serializers.Serializer):
    message = serializers.CharField(help_text="The first problem, naming line and column.")
    lines = AbTestLineErrorOutput(
        many=True, required=False, help_text="Every problem found (up to 20); nothing was stored."
    )


# --- building the output -------------------------------------------------------------------------
def _comparison(c: dict) -> dict:
    return {
        "variant": c["challenger"],
        "metric": c["metric"],
        "verdict": c["verdict"],
        "estimate": c["estimate"],
        "cs_low": c["cs_low"],
        "cs_high": c["cs_high"],
        "p_value": c["p_value"],
        "reason": c["reason"],
        "role": c["role"],
        "margin": c["margin"],
        "cuped": c["cuped"],
    }


def leading(analysis: dict) -> dict | None:
    """The challenger the statistics name, else the first one."""
    challengers = analysis.get("challengers") or []
    for challenger in challengers:
        if challenger["variant"] == analysis.get("variant"):
            return challenger
    return challengers[0] if challengers else None


def _no_difference(test: OnlineTest) -> dict:
    """The difference before any look: the same shape, with nothing estimated yet."""
    return {
        "variant": test.variants[1] if len(test.variants) > 1 else "",
        "metric": test.primary["name"],
        "verdict": "insufficient_data",
        "estimate": None,
        "cs_low": None,
        "cs_high": None,
        "p_value": None,
        "reason": "no events analysed yet",
        "role": "primary",
        "margin": None,
        "cuped": bool(test.primary.get("cuped")),
    }


def abtest_out(test: OnlineTest, *, detail: bool = False) -> dict:
    analysis = test.analysis or {}
    arms_seen = {arm["variant"]: arm for arm in analysis.get("arms", [])}
    project = test.benchmark.project
    lead = leading(analysis)
    srm = analysis.get("srm") or {"p_value": None, "flagged": False, "reason": "no events yet"}
    row = {
        "id": test.pk,
        "name": test.name,
        "description": test.description,
        "benchmark": test.benchmark_id,
        "project": project.key,
        "unit": test.unit,
        "state": test.state,
        "salt": test.salt,
        "arms": [
            {
                "variant": arm["variant"],
                "run": arm["run"],
                "run_name": test.run_names.get(arm["run"], f"#{arm['run']}"),
                "weight": arm["weight"],
                "champion": k == 0,
                "units": arms_seen.get(arm["variant"], {}).get("units", 0),
                "estimate": arms_seen.get(arm["variant"], {}).get("estimate"),
            }
            for k, arm in enumerate(test.arms)
        ],
        "primary": test.primary,
        "guardrails": test.guardrails,
        "alpha": test.alpha,
        "difference": _comparison(lead["primary"]) if lead else _no_difference(test),
        "srm": {"p_value": srm.get("p_value"), "flagged": bool(srm.get("flagged")), "reason": srm.get("reason")},
        "recommendation": analysis.get("decision"),
        "recommended_variant": analysis.get("variant"),
        "reasons": list(analysis.get("reasons") or []),
        "decision": test.decision or None,
        "decision_variant": test.decision_variant,
        "decision_note": test.decision_note,
        "champion_change": test.champion_change_id,
        "n_events": test.n_events,
        "aggregated_at": test.aggregated_at,
        "created_at": test.created_at,
        "started_at": test.started_at,
        "stopped_at": test.stopped_at,
        "page": reverse("abtest-detail", kwargs={"key": project.key, "abtest_id": test.pk}),
    }
    if detail:
        row["challengers"] = [
            {
                "variant": c["variant"],
                "primary": _comparison(c["primary"]),
                "guardrails": [_comparison(g) for g in c["guardrails"]],
                "decision": c["decision"],
                "reasons": c["reasons"],
            }
            for c in analysis.get("challengers", [])
        ]
    return row
