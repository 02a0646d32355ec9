"""What the data can support: few groups, rare errors, degenerate variance and group-label-free bootstrap weights.

Each rule against a case worked by hand; the simulations that chose the thresholds are `python -m bench calibration`.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from experiments.evaluation import Predictions, Truth, evaluate, support
from experiments.evaluation import intervals as iv


def _pair(truth, a, b, **kwargs):
    return evaluate(
        task=truth.task,
        truth=truth,
        predictions=Predictions.from_arrays(truth=truth, **{kwargs.pop("field", "scores"): a}),
        champion=Predictions.from_arrays(truth=truth, scores=b),
        **kwargs,
    )


# --- the small-sample variance -------------------------------------------------------------------------------
def test_cr2_standard_error_by_hand():
    """x = 1, 2 | 3 | 10 in three groups: mean 4; group residual totals −5, −1, 6 with leverages 1/2, 1/4, 1/4.
    SE² = (25 / 0.5 + 1 / 0.75 + 36 / 0.75) / 4² = 99.333… / 16."""
    mean, se, df = iv.mean_and_se(np.array([1.0, 2.0, 3.0, 10.0]), np.array([0, 0, 1, 2]), 3)
    assert mean == 4.0
    assert se == pytest.approx(math.sqrt(50 + 1 / 0.75 + 36 / 0.75) / 4, rel=1e-12)
    assert df == 2


def test_cr2_without_groups_is_the_ordinary_standard_error():
    x = np.array([0.3, 1.1, -0.4, 2.0, 0.9])
    _, se, df = iv.mean_and_se(x)
    assert se == pytest.approx(x.std(ddof=1) / math.sqrt(5), rel=1e-12)
    assert df == 4


def test_clustered_paired_t_uses_t_on_g_minus_1():
    diff = np.array([0.5, 0.7, 0.1, 0.2, 0.9, 0.4])
    groups = np.array([0, 0, 1, 1, 2, 2])
    result = iv.paired_t(diff, groups, 3, "paired t")
    mean, se, _ = iv.mean_and_se(diff, groups, 3)
    half = stats.t.ppf(0.975, 2) * se
    assert (result.low, result.high) == pytest.approx((mean - half, mean + half), rel=1e-12)
    assert result.p_value == pytest.approx(2 * stats.t.sf(mean / se, 2), rel=1e-12)


def test_the_few_groups_widening_factor_by_hand():
    assert iv.few_groups_factor(None) == 1.0
    assert iv.few_groups_factor(5) == pytest.approx(math.sqrt(5 / 4) * 2.7764451051977987 / 1.959963984540054)
    assert iv.few_groups_factor(10) == pytest.approx(math.sqrt(10 / 9) * 2.2621571627409915 / 1.959963984540054)
    assert iv.few_groups_factor(60) < 1.04


# --- few groups --------------------------------------------------------------------------------------------------
def test_the_group_thresholds_say_why():
    assert support.groups_reason(None) is None
    assert support.groups_reason(10) is None
    assert support.groups_reason(5) == "5 groups; a verdict needs at least 10"
    assert support.approximate(12) and not support.approximate(20) and not support.approximate(None)


def test_two_groups_give_insufficient_data_not_p_2e_22():
    """200 rows in 2 groups (``group = i % 2``) with clearly different models: no verdict, intervals approximate."""
    rng = np.random.default_rng(1)
    n = 200
    y = (rng.random(n) < 0.5).astype(int)
    truth = Truth.from_arrays(task="binary", y=y, groups=np.arange(n) % 2)
    report = _pair(truth, y + rng.normal(size=n), 0.3 * y + rng.normal(size=n), n_resamples=200)
    json.dumps(report, allow_nan=False)
    for entry in report["comparisons"].values():
        assert entry["verdict"] == "insufficient_data"
        assert entry["p_value"] is None or entry["reason"] == "2 groups; a verdict needs at least 10"
    assert report["comparison"]["reason"] == "2 groups; a verdict needs at least 10"
    assert report["support"]["approximate"] is True
    assert report["metrics"]["auc"].get("approximate") is True


def test_twelve_groups_give_a_verdict_with_approximate_intervals():
    rng = np.random.default_rng(2)
    group = np.repeat(np.arange(12), 40)
    y = (rng.random(len(group)) < 0.5).astype(int)
    truth = Truth.from_arrays(task="binary", y=y, groups=group)
    report = _pair(truth, 2 * y + rng.normal(size=len(y)), 0.5 * y + rng.normal(size=len(y)), n_resamples=200)
    assert report["comparison"]["verdict"] == "better"
    assert report["comparison"]["reason"] is None
    assert report["comparison"]["approximate"] is True


# --- degenerate variance -----------------------------------------------------------------------------------------
def test_single_class_groups_give_no_zero_width_interval_and_no_p_0():
    """5 rows in 2 single-class groups: every placement variance is 0 between groups."""
    truth = Truth.from_arrays(task="binary", y=[0, 0, 0, 1, 1], groups=["a", "a", "a", "b", "b"])
    report = _pair(truth, [0.1, 0.2, 0.3, 0.8, 0.9], [0.9, 0.8, 0.7, 0.2, 0.1], n_resamples=100)
    json.dumps(report, allow_nan=False)
    for metric, entry in report["comparisons"].items():
        assert entry["verdict"] == "insufficient_data", metric
        assert entry["reason"], metric
        assert entry["p_value"] != 0.0, metric
        assert entry["ci_low"] is None or entry["ci_low"] != entry["ci_high"], metric
    for entry in report["metrics"].values():
        assert entry["ci_low"] is None or entry["ci_low"] < entry["ci_high"]


def test_identical_models_give_insufficient_data_with_the_reason():
    rng = np.random.default_rng(3)
    y = (rng.random(300) < 0.5).astype(int)
    scores = y + rng.normal(size=300)
    truth = Truth.from_arrays(task="binary", y=y)
    report = _pair(truth, scores, scores, n_resamples=100)
    for metric in ("auc", "accuracy", "eer", "f1"):
        entry = report["comparisons"][metric]
        assert entry["verdict"] == "insufficient_data", metric
        assert entry["ci_low"] is None and entry["p_value"] is None, metric
    assert report["comparisons"]["auc"]["reason"] == iv.NO_VARIANCE.format(units="rows")


def test_a_difference_with_zero_variance_is_not_a_certainty():
    result = iv.normal_difference(0.02, 0.0, "DeLong")
    assert (result.low, result.high, result.p_value) == (None, None, None)
    assert result.reason == iv.NO_VARIANCE.format(units="rows")


def test_a_bootstrap_p_value_below_the_resolution_is_extrapolated():
    draws = np.random.default_rng(4).normal(1.0, 0.1, 1000)
    p = iv.bootstrap_p_value(draws)
    assert p == pytest.approx(2 * stats.norm.sf(draws.mean() / draws.std(ddof=1)))
    assert p < 2 / 1001


# --- rare errors --------------------------------------------------------------------------------------------------
def test_rare_error_thresholds_by_hand():
    assert support.negatives_needed(1e-2) == 2_000
    assert support.negatives_needed(1e-3) == 20_000
    assert support.rare_error_reason(1e-3, 600, None) == "not estimable with 600 negatives (needs ≥ 20,000)"
    assert support.rare_error_reason(1e-2, 2_000, None) is None
    assert support.rare_error_reason(1e-2, 5_000, 4) == (
        "not estimable with negatives from 4 groups (needs ≥ 10 groups)"
    )
    assert support.rare_error_reason(1e-2, 5_000, 10) is None


def test_frr_at_far_is_reported_only_with_enough_negatives():
    rng = np.random.default_rng(5)
    n = 3000
    y = (rng.random(n) < 0.25).astype(int)  # about 2,250 negatives: FAR 1e-2 yes, 1e-3 no
    truth = Truth.from_arrays(task="binary", y=y)
    report = _pair(truth, y + rng.normal(size=n), y + rng.normal(size=n), n_resamples=100)
    n_neg = int((y == 0).sum())
    rare = report["metrics"]["frr_at_far_1e-3"]
    assert rare["ci_low"] is None and rare["ci_high"] is None
    assert rare["reason"] == f"not estimable with {n_neg:,} negatives (needs ≥ 20,000)"
    compared = report["comparisons"]["frr_at_far_1e-3"]
    assert compared["verdict"] == "insufficient_data" and compared["ci_low"] is None and compared["p_value"] is None
    assert report["support"]["not_estimable"] == {"frr_at_far_1e-3": rare["reason"]}
    assert report["metrics"]["frr_at_far_1e-2"]["ci_low"] is not None
    assert report["comparisons"]["frr_at_far_1e-2"]["verdict"] != "insufficient_data"


# --- determinism -------------------------------------------------------------------------------------------------
def test_bootstrap_results_do_not_depend_on_how_groups_are_spelled():
    rng = np.random.default_rng(6)
    n_groups, per = 30, 15
    group = np.repeat(np.arange(n_groups), per)
    y = (rng.random(len(group)) < 0.4).astype(int)
    a, b = y + rng.normal(size=len(y)), 0.8 * y + rng.normal(size=len(y))
    spellings = [
        [f"subject-{g:02d}" for g in group],
        [f"{(n_groups - g) * 7919 % 1000}-renamed" for g in group],  # another sort order of the labels
        [str(g * 13 % n_groups) for g in group],
    ]
    reports = []
    for labels in spellings:
        truth = Truth.from_arrays(task="binary", y=y, groups=np.array(labels))
        reports.append(_pair(truth, a, b, seed=9, n_resamples=300))
    for metric in ("eer", "f1", "auc"):
        first = reports[0]["comparisons"][metric]
        for other in reports[1:]:
            assert other["comparisons"][metric] == first, metric
    assert reports[1]["metrics"] == reports[0]["metrics"]
