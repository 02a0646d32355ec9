"""Sample-ratio mismatch: scipy's chi-square goodness of fit, a strict level, a loud flag."""

from __future__ import annotations

import pytest
from scipy import stats

from experiments.evaluation.online import srm_check

EVEN = [("champion", 1), ("challenger", 1)]


@pytest.mark.parametrize(
    ("observed", "arms"),
    [
        ({"champion": 50_400, "challenger": 49_600}, EVEN),
        ({"champion": 1_013, "challenger": 987}, EVEN),
        ({"a": 8_950, "b": 1_050}, [("a", 90), ("b", 10)]),
        ({"a": 310, "b": 295, "c": 640}, [("a", 1), ("b", 1), ("c", 2)]),
        ({"a": 120, "b": 80, "c": 100, "d": 95}, [("a", 0.25), ("b", 0.25), ("c", 0.25), ("d", 0.25)]),
    ],
)
def test_the_p_value_is_scipys_chi_square(observed, arms):
    total = sum(observed.values())
    weight = sum(w for _, w in arms)
    expected = stats.chisquare([observed[v] for v, _ in arms], f_exp=[total * w / weight for _, w in arms])
    result = srm_check(observed, arms)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-10)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.flagged == (expected.pvalue < 0.001)


def test_51_49_over_100k_units_is_flagged_loudly():
    result = srm_check({"champion": 51_000, "challenger": 49_000}, EVEN)
    assert result.flagged
    assert result.p_value < 1e-9
    assert "sample ratio mismatch" in result.reason
    assert "cannot be trusted" in result.reason


def test_an_ordinary_wobble_is_not_flagged():
    result = srm_check({"champion": 50_150, "challenger": 49_850}, EVEN)
    assert not result.flagged
    assert result.reason is None
    assert result.p_value > 0.001


def test_the_level_is_strict_by_default_and_can_be_set():
    observed = {"champion": 1_060, "challenger": 940}  # p ≈ 0.0073
    assert not srm_check(observed, EVEN).flagged
    assert srm_check(observed, EVEN, level=0.01).flagged


def test_an_arm_with_no_units_yet_counts_as_zero():
    result = srm_check({"champion": 400}, EVEN)
    assert result.observed == {"champion": 400, "challenger": 0}
    assert result.flagged


def test_too_few_units_give_no_p_value_and_no_flag():
    for observed in ({}, {"champion": 3, "challenger": 2}):
        result = srm_check(observed, EVEN)
        assert result.p_value is None
        assert result.statistic is None
        assert not result.flagged
        assert "not enough units" in result.reason


@pytest.mark.parametrize(
    ("observed", "message"),
    [({"stranger": 10}, "'stranger' is not an arm"), ({"champion": -1}, "whole number"), ({"champion": 1.5}, "whole")],
)
def test_impossible_counts_are_refused(observed, message):
    with pytest.raises(ValueError, match=message):
        srm_check(observed, EVEN)
