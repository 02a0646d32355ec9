"""One look at an online test: verdicts, guardrails, Bonferroni over challengers, SRM, CUPED and every
degenerate state — always a clear answer, never NaN or an exception."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from experiments.evaluation.online import (
    DECISIONS,
    Design,
    DesignError,
    Metric,
    SufficientStats,
    analyse,
    cuped_theta,
)

EVEN = [("champion", 1), ("challenger", 1)]
CONVERSION = Metric("converted", kind="binary", min_effect=0.02)


def counts(n: int, ones: int) -> SufficientStats:
    return SufficientStats.from_counts(n, ones)


def binary_design(**kwargs) -> Design:
    return Design(**{"arms": EVEN, "champion": "champion", "primary": CONVERSION, **kwargs})


def assert_json_clean(result) -> dict:
    """The result serialises without NaN or infinity, and its decision is one of the documented ones."""
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["decision"] in DECISIONS
    return data


# --- hand-worked -----------------------------------------------------------------------------------------
def test_a_clear_winner_by_hand():
    # Champion 7,000/10,000, challenger 7,400/10,000.  Sample variances: 7000·3000/(10⁴·9999) = 0.2100210,
    # 7400·2600/(10⁴·9999) = 0.1924192;  v = (0.2100210 + 0.1924192)/10⁴ = 4.024402e-5;  τ² = 0.02² = 4e-4;
    # h = √(2v(v + τ²)/τ² · log(√((v + τ²)/v)/0.05)) = 0.0192703;  the sequence is 0.04 ± 0.0192703.
    result = analyse(
        binary_design(),
        {"champion": {"converted": counts(10_000, 7_000)}, "challenger": {"converted": counts(10_000, 7_400)}},
    )
    c = result.challenger("challenger").primary
    assert c.estimate == pytest.approx(0.04, abs=1e-12)
    assert c.cs_low == pytest.approx(0.0207297, abs=1e-7)
    assert c.cs_high == pytest.approx(0.0592703, abs=1e-7)
    assert c.verdict == "better"
    assert c.p_value < 0.05
    assert result.decision == "ship_challenger"
    assert result.variant == "challenger"
    assert "better on converted" in result.reasons[0]
    arms = {arm.variant: arm for arm in result.arms}
    assert (arms["champion"].units, arms["champion"].estimate) == (10_000, 0.7)
    assert not result.srm.flagged
    assert_json_clean(result)


def test_a_clear_loser_keeps_the_champion():
    result = analyse(
        binary_design(),
        {"champion": {"converted": counts(10_000, 7_400)}, "challenger": {"converted": counts(10_000, 7_000)}},
    )
    assert result.challenger("challenger").primary.verdict == "worse"
    assert result.decision == "keep_champion"
    assert result.variant is None


def test_a_lift_too_small_to_matter_stops_the_test():
    # 400,000 per arm at 70.0% vs 70.1%: the sequence is about ±0.004, well below the 0.02 that matters.
    result = analyse(
        binary_design(),
        {"champion": {"converted": counts(400_000, 280_000)}, "challenger": {"converted": counts(400_000, 280_400)}},
    )
    c = result.challenger("challenger").primary
    assert c.cs_low < 0 < c.cs_high < 0.02
    assert c.verdict == "no_meaningful_lift"
    assert result.decision == "keep_champion"
    assert "cannot be better by the minimum effect" in result.reasons[0]


def test_an_undecided_test_keeps_running():
    result = analyse(
        binary_design(),
        {"champion": {"converted": counts(1_000, 700)}, "challenger": {"converted": counts(1_000, 720)}},
    )
    assert result.challenger("challenger").primary.verdict == "keep_running"
    assert result.decision == "keep_running"


def test_lower_is_better_flips_the_direction():
    design = binary_design(primary=Metric("false_lockout", kind="binary", higher_is_better=False, min_effect=0.01))
    result = analyse(
        design,
        {"champion": {"false_lockout": counts(10_000, 800)}, "challenger": {"false_lockout": counts(10_000, 500)}},
    )
    c = result.challenger("challenger").primary
    assert c.cs_high < 0
    assert c.verdict == "better"
    assert result.decision == "ship_challenger"


# --- guardrails --------------------------------------------------------------------------------------------
LATENCY = Metric("latency_ms", kind="continuous", higher_is_better=False, margin=5.0)


def _latency(mean: float, n: int = 10_000, seed: int = 0) -> SufficientStats:
    return SufficientStats.from_values(np.random.default_rng(seed).normal(mean, 20.0, n))


def _with_guardrail(latency_champion: SufficientStats, latency_challenger: SufficientStats):
    design = binary_design(guardrails=[LATENCY])
    return analyse(
        design,
        {
            "champion": {"converted": counts(10_000, 7_000), "latency_ms": latency_champion},
            "challenger": {"converted": counts(10_000, 7_400), "latency_ms": latency_challenger},
        },
    )


def test_a_better_challenger_ships_when_the_guardrail_holds():
    result = _with_guardrail(_latency(100.0, seed=1), _latency(100.5, seed=2))
    guard = result.challenger("challenger").guardrails[0]
    assert guard.verdict == "holds"
    assert guard.cs_high < 5.0
    assert result.decision == "ship_challenger"
    assert any("guardrail latency_ms held" in reason for reason in result.reasons)


def test_a_guardrail_regressed_beyond_its_margin_keeps_the_champion():
    result = _with_guardrail(_latency(100.0, seed=1), _latency(112.0, seed=2))
    guard = result.challenger("challenger").guardrails[0]
    assert guard.verdict == "violated"
    assert guard.cs_low > 5.0
    assert result.decision == "keep_champion"
    assert "regressed latency_ms beyond the margin 5" in result.reasons[0]


def test_a_guardrail_not_yet_shown_within_its_margin_keeps_the_test_running():
    result = _with_guardrail(_latency(100.0, n=200, seed=1), _latency(104.0, n=200, seed=2))
    assert result.challenger("challenger").primary.verdict == "better"
    assert result.challenger("challenger").guardrails[0].verdict == "keep_running"
    assert result.decision == "keep_running"
    assert "not yet shown within the margin on latency_ms" in result.reasons[0]


def test_a_guardrail_without_data_blocks_shipping():
    design = binary_design(guardrails=[LATENCY])
    result = analyse(
        design, {"champion": {"converted": counts(10_000, 7_000)}, "challenger": {"converted": counts(10_000, 7_400)}}
    )
    assert result.challenger("challenger").guardrails[0].verdict == "insufficient_data"
    assert result.decision == "keep_running"
    assert_json_clean(result)


# --- several challengers -----------------------------------------------------------------------------------
THREE = [("champion", 1), ("b", 1), ("c", 1), ("d", 1)]


def test_several_challengers_share_alpha_bonferroni():
    data = {
        "champion": counts(10_000, 7_000),
        "b": counts(10_000, 7_150),
        "c": counts(10_000, 6_950),
        "d": counts(10_000, 7_010),
    }
    stats = {v: {"converted": s} for v, s in data.items()}
    three = analyse(binary_design(arms=THREE), stats)
    assert three.level == pytest.approx(0.05 / 3)
    one = analyse(binary_design(arms=THREE[:2]), {v: stats[v] for v in ("champion", "b")})
    b3, b1 = three.challenger("b").primary, one.challenger("b").primary
    assert b3.estimate == b1.estimate
    assert b3.cs_high - b3.cs_low > b1.cs_high - b1.cs_low  # the α/3 sequence is wider
    assert b3.p_value == pytest.approx(min(1.0, 3 * b1.p_value))
    assert b3.level == pytest.approx(0.05 / 3)


def test_the_best_of_several_shippable_challengers_is_shipped():
    data = {
        "champion": counts(10_000, 7_000),
        "b": counts(10_000, 7_400),
        "c": counts(10_000, 7_600),
        "d": counts(10_000, 6_500),
    }
    result = analyse(binary_design(arms=THREE), {v: {"converted": s} for v, s in data.items()})
    assert [c.decision for c in result.challengers] == ["ship", "ship", "keep_champion"]
    assert result.decision == "ship_challenger"
    assert result.variant == "c"


# --- SRM ---------------------------------------------------------------------------------------------------
def test_a_sample_ratio_mismatch_overrides_a_winner():
    result = analyse(
        binary_design(),
        {"champion": {"converted": counts(51_000, 35_700)}, "challenger": {"converted": counts(49_000, 36_260)}},
    )
    assert result.challenger("challenger").primary.verdict == "better"
    assert result.srm.flagged
    assert result.decision == "sample_ratio_mismatch"
    assert result.variant is None
    assert result.reasons[0].startswith("sample ratio mismatch")


def test_srm_can_count_units_given_separately():
    stats = {"champion": {"converted": counts(10_000, 7_000)}, "challenger": {"converted": counts(10_000, 7_400)}}
    result = analyse(binary_design(), stats, units={"champion": 10_600, "challenger": 10_000})
    assert result.srm.observed == {"champion": 10_600, "challenger": 10_000}
    assert result.srm.flagged


# --- CUPED -------------------------------------------------------------------------------------------------
def test_cuped_inside_the_sequence_matches_the_row_level_reference():
    rng = np.random.default_rng(8)
    rows = {}
    for variant, lift in (("champion", 0.0), ("challenger", 0.3)):
        x = rng.lognormal(1, 0.7, 4_000)
        rows[variant] = (2 + lift + 0.8 * x + rng.normal(0, 1, 4_000), x)
    plain = Metric("revenue", kind="continuous", min_effect=0.2)
    stats = {v: {"revenue": SufficientStats.from_values(y, x)} for v, (y, x) in rows.items()}
    without = analyse(binary_design(primary=plain), stats).challenger("challenger").primary
    result = analyse(binary_design(primary=Metric("revenue", kind="continuous", min_effect=0.2, cuped=True)), stats)
    c = result.challenger("challenger").primary
    # Reference: pooled least-squares slope, adjusted rows, difference of means and its variance.
    x_all = np.concatenate([x for _, x in rows.values()])
    y_all = np.concatenate([y for y, _ in rows.values()])
    slope = np.linalg.lstsq(np.column_stack([np.ones_like(x_all), x_all]), y_all, rcond=None)[0][1]
    adjusted = {v: y - slope * (x - x_all.mean()) for v, (y, x) in rows.items()}
    estimate = adjusted["challenger"].mean() - adjusted["champion"].mean()
    variance = sum(a.var(ddof=1) / a.size for a in adjusted.values())
    assert cuped_theta([s["revenue"] for s in stats.values()]) == pytest.approx(slope, rel=1e-10)
    assert c.cuped
    assert c.estimate == pytest.approx(estimate, rel=1e-9)
    half = 0.5 * (c.cs_high - c.cs_low)
    tau2 = 0.2**2
    expected_half = math.sqrt(
        2 * variance * (variance + tau2) / tau2 * math.log(math.sqrt((variance + tau2) / variance) / 0.05)
    )
    assert half == pytest.approx(expected_half, rel=1e-9)
    raw_variance = sum(y.var(ddof=1) / y.size for y, _ in rows.values())
    assert c.variance_reduction == pytest.approx(1 - variance / raw_variance, rel=1e-9)
    assert c.variance_reduction > 0.3
    assert half < 0.5 * (without.cs_high - without.cs_low)


def test_cuped_without_a_covariate_falls_back_and_says_so():
    metric = Metric("revenue", kind="continuous", min_effect=0.2, cuped=True)
    rng = np.random.default_rng(9)
    stats = {v: {"revenue": SufficientStats.from_values(rng.normal(5, 1, 500))} for v in ("champion", "challenger")}
    c = analyse(binary_design(primary=metric), stats).challenger("challenger").primary
    assert not c.cuped
    assert "CUPED was not applied" in c.reason
    assert c.cs_low is not None


# --- degenerate input --------------------------------------------------------------------------------------
def test_no_events_at_all():
    result = analyse(binary_design(guardrails=[LATENCY]), {})
    assert result.decision == "insufficient_data"
    assert result.srm.p_value is None and not result.srm.flagged
    assert all(arm.units == 0 and arm.estimate is None for arm in result.arms)
    c = result.challenger("challenger").primary
    assert (c.estimate, c.cs_low, c.cs_high, c.p_value) == (None, None, None, None)
    assert "no converted outcomes from the champion yet" in c.reason
    assert_json_clean(result)


def test_one_arm_empty():
    result = analyse(binary_design(), {"challenger": {"converted": counts(5_000, 3_500)}})
    assert result.decision == "sample_ratio_mismatch"  # 5,000 against 0 is no 50/50 split
    c = result.challenger("challenger").primary
    assert c.verdict == "insufficient_data"
    assert "from the champion yet" in c.reason
    assert_json_clean(result)


@pytest.mark.parametrize(
    ("champion", "challenger", "why"),
    [
        (counts(50, 35), counts(50, 36), "each arm needs 100 units"),
        (counts(1_000, 1_000), counts(1_000, 1_000), "needs at least 10 units with each outcome"),
        (counts(1_000, 0), counts(1_000, 0), "needs at least 10 units with each outcome"),
        (counts(1_000, 700), counts(1_000, 995), "the challenger needs at least 10 units with each outcome"),
    ],
)
def test_binary_arms_without_enough_data(champion, challenger, why):
    result = analyse(binary_design(), {"champion": {"converted": champion}, "challenger": {"converted": challenger}})
    c = result.challenger("challenger").primary
    assert c.verdict == "insufficient_data"
    assert why in c.reason
    assert result.decision == "insufficient_data"
    assert_json_clean(result)


def test_a_continuous_outcome_with_zero_variance():
    flat = SufficientStats.from_values(np.full(500, 3.0))
    design = binary_design(primary=Metric("revenue", kind="continuous", min_effect=0.1))
    result = analyse(design, {"champion": {"revenue": flat}, "challenger": {"revenue": flat}})
    c = result.challenger("challenger").primary
    assert c.verdict == "insufficient_data"
    assert "has not varied yet" in c.reason
    assert_json_clean(result)


def test_cuped_that_explains_everything_leaves_no_usable_variance():
    x = np.linspace(1, 10, 500)
    design = binary_design(primary=Metric("revenue", kind="continuous", min_effect=0.1, cuped=True))
    stats = {v: {"revenue": SufficientStats.from_values(2 * x + 1, x)} for v in ("champion", "challenger")}
    c = analyse(design, stats).challenger("challenger").primary
    assert c.verdict == "insufficient_data"
    assert "no usable variance" in c.reason
    assert_json_clean(analyse(design, stats))


def test_stats_for_something_outside_the_design_are_refused():
    with pytest.raises(ValueError, match="'stranger' is not an arm"):
        analyse(binary_design(), {"stranger": {"converted": counts(10, 5)}})
    with pytest.raises(ValueError, match="'clicks' is not an outcome"):
        analyse(binary_design(), {"champion": {"clicks": counts(10, 5)}})


# --- the design --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"arms": [("champion", 1)]}, "arms"),
        ({"champion": "nobody"}, "champion"),
        ({"alpha": 0}, "alpha"),
        ({"alpha": 0.7}, "alpha"),
        ({"srm_level": 2}, "srm_level"),
        ({"min_units": 1}, "min_units"),
        ({"primary": Metric("converted", kind="binary")}, "primary.min_effect"),
        ({"primary": Metric("converted", kind="binary", min_effect=-0.1)}, "primary.min_effect"),
        ({"primary": Metric("converted", kind="ordinal", min_effect=0.1)}, "primary.kind"),
        ({"primary": Metric("", min_effect=0.1)}, "primary.name"),
        ({"primary": Metric("converted", min_effect=0.1, margin=0.1)}, "primary.margin"),
        ({"guardrails": [Metric("latency_ms", kind="continuous")]}, "guardrails[0].margin"),
        ({"guardrails": [Metric("latency_ms", kind="continuous", margin=0)]}, "guardrails[0].margin"),
        ({"guardrails": [Metric("latency_ms", margin=1, min_effect=1)]}, "guardrails[0].min_effect"),
        ({"guardrails": [Metric("converted", margin=0.01)]}, "guardrails[0].name"),
        ({"guardrails": [Metric("x", margin=1, mixing_scale=float("inf"))]}, "guardrails[0].mixing_scale"),
    ],
)
def test_a_bad_design_names_the_field(kwargs, field):
    with pytest.raises(DesignError) as caught:
        binary_design(**kwargs)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_the_mixing_scale_can_be_set_from_a_planned_sample_size():
    from experiments.evaluation.online import sequential

    tau2 = sequential.mixing_variance_for_sample_size(units_per_arm=20_000, sd=math.sqrt(0.21), alpha=0.05)
    design = binary_design(primary=Metric("converted", kind="binary", min_effect=0.02, mixing_scale=math.sqrt(tau2)))
    stats = {"champion": {"converted": counts(20_000, 14_000)}, "challenger": {"converted": counts(20_000, 14_300)}}
    tuned = analyse(design, stats).challenger("challenger").primary
    default = analyse(binary_design(), stats).challenger("challenger").primary
    assert tuned.cs_high - tuned.cs_low < default.cs_high - default.cs_low  # tightest where it was planned
