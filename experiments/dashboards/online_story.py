"""Online tests told beside the offline evaluations in the champion's story (demo and sprint pages):
one compact row per test, in words a stakeholder can read aloud.

The rows are built from tests read by ``experiments.abtests.selectors.abtests_for_story`` (a fixed
number of queries for any number of tests); nothing here queries the database.
"""

from __future__ import annotations

from typing import Any

from experiments.abtests.models import AbTestDecision, OnlineTest
from experiments.abtests.serializers import abtest_out

VERDICTS = {
    "better": "the challenger is better",
    "worse": "the challenger is worse",
    "no_meaningful_lift": "no lift worth shipping",
    "keep_running": "not decided yet",
    "insufficient_data": "not enough data yet",
}


def _signed(value: float, binary: bool) -> str:
    return f"{value * 100:+.1f}" if binary else f"{value:+.4g}"


def difference_words(test: OnlineTest, difference: dict[str, Any]) -> str:
    """E.g. "authenticated +2.1 points [+0.4, +3.8], always-valid 95%" (points for a binary outcome)."""
    metric = difference["metric"]
    if difference["estimate"] is None or difference["cs_low"] is None:
        return f"{metric}: {difference['reason'] or 'no estimate yet'}"
    binary = test.primary.get("kind", "binary") == "binary"
    unit = " points" if binary else ""
    # Each challenger's sequence is at level alpha / K (the engine's correction for K challengers).
    level = f"{(1 - test.alpha / max(1, len(test.arms) - 1)) * 100:.4g}%"
    low, high = _signed(difference["cs_low"], binary), _signed(difference["cs_high"], binary)
    return f"{metric} {_signed(difference['estimate'], binary)}{unit} [{low}, {high}], always-valid {level}"


def srm_words(srm: dict[str, Any]) -> str:
    if srm["flagged"]:
        return f"sample-ratio mismatch (p = {srm['p_value']:.2g}): do not trust these results"
    if srm["p_value"] is None:
        return f"sample ratio not checked yet ({srm['reason'] or 'no events yet'})"
    return "sample ratio as planned"


def decision_words(test: OnlineTest) -> str:
    """The lead's decision; a shipped test names the champion change it led to."""
    if not test.decision:
        return "no decision yet" if test.stopped_at is None else "stopped without a decision"
    if test.decision == AbTestDecision.SHIP and test.champion_change is not None:
        change = test.champion_change
        return (
            f"shipped: {change.run_name} replaced {change.previous_run_name or 'no champion'} "
            f"as champion on {change.promoted_at:%b %-d, %Y}"
        )
    label = AbTestDecision(test.decision).label
    return f"{label} ({test.decision_variant})" if test.decision_variant else label


def online_rows(tests: list[OnlineTest]) -> list[dict[str, Any]]:
    """One row per test: name, benchmark, state, challenger, the difference, SRM and decision, in words."""
    rows = []
    for test in tests:
        out = abtest_out(test)
        difference = out["difference"]
        arm = next((a for a in out["arms"] if a["variant"] == difference["variant"]), None)
        rows.append(
            {
                "id": test.pk,
                "name": test.name,
                "benchmark": test.benchmark.name,
                "benchmark_id": test.benchmark_id,
                "state": test.state,
                "state_label": test.get_state_display(),
                "challenger": difference["variant"],
                "challenger_run": arm["run_name"] if arm else "",
                "champion_run": out["arms"][0]["run_name"],
                "difference": difference_words(test, difference),
                "verdict": VERDICTS.get(difference["verdict"], difference["verdict"].replace("_", " ")),
                "srm": srm_words(out["srm"]),
                "srm_flagged": out["srm"]["flagged"],
                "decision": decision_words(test),
                "shipped": test.decision == AbTestDecision.SHIP,
                "n_events": test.n_events,
                "page": out["page"],
            }
        )
    return rows
