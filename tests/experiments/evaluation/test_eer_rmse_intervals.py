"""The EER's linearised variance and the RMSE's studentized interval, each against a case worked by hand.

Calibration by simulation (coverage 92–97.5%) is `python -m bench calibration`; these pin the formulas.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.evaluation import Predictions, Truth, evaluate
from experiments.evaluation import intervals as iv
from experiments.evaluation.roc import eer_influence, rank, roc_points

# Rows r0…r7: four negatives, then four positives. Challenger: negatives 0.1 0.2 0.35 0.6, positives 0.3 0.5
# 0.7 0.9. Descending thresholds give (FAR, FRR) = (0, 1) (0, .75) (0, .5) (.25, .5) (.25, .25): the 4th point
# has FAR = FRR, so EER = 0.25 with the rows scoring ≥ 0.5 accepted (the negative r3, not the positive r4).
Y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
CHALLENGER = np.array([0.1, 0.2, 0.35, 0.6, 0.3, 0.5, 0.7, 0.9])
# The champion has the same scores per class on other rows: EER 0.25, accepting r0 and rejecting r7.
CHAMPION = np.array([0.6, 0.2, 0.35, 0.1, 0.9, 0.5, 0.7, 0.3])


def _influence(scores):
    ranking = rank(scores, Y)
    far, frr = roc_points(ranking)
    return eer_influence(ranking, far, frr)


def test_eer_influence_by_hand():
    """All 8 rows are within the density window, so f ∝ 4.5/4 = g and w = ½. A negative's term is
    ½ (1[accepted] − ¼) / 4, a positive's ½ (1[rejected] − ¼) / 4: 0.09375 for r3 and r4, −0.03125 else."""
    u = _influence(CHALLENGER)
    assert u == pytest.approx([-0.03125, -0.03125, -0.03125, 0.09375, 0.09375, -0.03125, -0.03125, -0.03125])
    assert u.sum() == pytest.approx(0.0, abs=1e-15)


def test_eer_interval_by_hand_without_groups():
    """Var Σu = Σ (8u)² / (1 − 1/8) / 8² = (2 · 0.75² + 6 · 0.25²) / 0.875 / 64 = 0.0267857 (the textbook
    w² · EER(1 − EER) / n_neg + (1 − w)² · EER(1 − EER) / n_pos = 0.0234375, times 8/7); normal interval, clipped."""
    truth = Truth.from_arrays(task="binary", y=Y)
    report = evaluate(
        task="binary",
        truth=truth,
        predictions=Predictions.from_arrays(truth=truth, scores=CHALLENGER),
        champion=Predictions.from_arrays(truth=truth, scores=CHAMPION),
        n_resamples=50,
    )
    se = math.sqrt(0.0234375 * 8 / 7)
    assert se == pytest.approx(0.16366341, rel=1e-7)
    eer = report["metrics"]["eer"]
    assert eer["value"] == 0.25
    assert eer["ci_low"] == 0.0  # 0.25 − 1.96 · 0.1637 < 0, clipped
    assert eer["ci_high"] == pytest.approx(0.25 + iv.Z * se)
    # The difference: u_challenger − u_champion is ±0.125 on r0, r3, r4, r7 and 0 elsewhere:
    # Var = 4 · 1² / 0.875 / 64, so the interval is 0 ± 1.96 · 0.267261 and p = 1.
    comparison = report["comparisons"]["eer"]
    half = iv.Z * math.sqrt(4 / 0.875) / 8
    assert comparison["delta"] == 0.0
    assert (comparison["ci_low"], comparison["ci_high"]) == (pytest.approx(-half), pytest.approx(half))
    assert comparison["p_value"] == pytest.approx(1.0)
    assert comparison["method"] == "linearised EER variance (Bahadur), paired"
    assert report["interval_methods"]["eer"] == "linearised EER variance (Bahadur)"


def test_eer_interval_by_hand_with_groups():
    """Groups {r0, r4} {r1, r5} {r2, r6} {r3, r7}: totals of 8u are 0.5, −0.5, −0.5, 0.5; CR2 for equal groups
    divides by 1 − 2/8: Var = 4 · 0.25 / 0.75 / 64; t on 3 df (3.182446)."""
    truth = Truth.from_arrays(task="binary", y=Y, groups=["a", "b", "c", "d", "a", "b", "c", "d"])
    report = evaluate(
        task="binary", truth=truth, predictions=Predictions.from_arrays(truth=truth, scores=CHALLENGER), n_resamples=50
    )
    se = math.sqrt(1 / 0.75) / 8
    eer = report["metrics"]["eer"]
    assert eer["ci_high"] == pytest.approx(0.25 + 3.182446305 * se)
    assert eer["approximate"] is True
    assert report["interval_methods"]["eer"] == "linearised EER variance (Bahadur), cluster-robust, t on G − 1 df"


def test_a_perfect_separation_has_eer_0_and_no_interval():
    y = np.array([0, 0, 0, 1, 1, 1])
    truth = Truth.from_arrays(task="binary", y=y)
    perfect = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    report = evaluate(
        task="binary",
        truth=truth,
        predictions=Predictions.from_arrays(truth=truth, scores=perfect),
        champion=Predictions.from_arrays(truth=truth, scores=perfect[::-1].copy()[[3, 4, 5, 0, 1, 2]]),
        n_resamples=50,
    )
    eer = report["metrics"]["eer"]
    assert (eer["value"], eer["ci_low"], eer["ci_high"]) == (0.0, None, None)
    comparison = report["comparisons"]["eer"]
    assert comparison["delta"] == 0.0
    assert comparison["verdict"] == "insufficient_data"
    assert comparison["reason"] == iv.NO_VARIANCE.format(units="rows")


# --- RMSE ---------------------------------------------------------------------------------------------------
def test_unit_sums_give_the_cr2_standard_error_for_equal_groups_and_rows():
    x = np.array([1.0, 4.0, 0.25, 2.25, 9.0, 0.0])
    groups = np.array([0, 0, 1, 1, 2, 2])
    for g, n_units in ((groups, 3), (None, 6)):
        codes = g if g is not None else np.arange(6)
        totals = np.bincount(codes, weights=x)
        sizes = np.bincount(codes).astype(float)
        sums = np.array([sizes.sum(), totals.sum(), (sizes**2).sum(), (totals**2).sum(), (totals * sizes).sum()])
        mean, se = iv.unit_mean_and_se(sums, n_units)
        expected_mean, expected_se, _ = iv.mean_and_se(x, g, 3 if g is not None else None)
        assert (mean, se) == (pytest.approx(expected_mean), pytest.approx(expected_se))
    # By hand for the rows: mean 16.5 / 6 = 2.75, s² = (Σx² − 6 · 2.75²) / 5 = (103.125 − 45.375) / 5 = 11.55.
    assert iv.unit_mean_and_se(np.array([6, 16.5, 6, 103.125, 16.5]), 6)[1] == pytest.approx(math.sqrt(11.55 / 6))


def test_the_studentized_log_interval_by_hand():
    """Resamples built so that t*_b runs evenly over [−2, 3]: its 2.5% and 97.5% quantiles are −1.875 and
    2.875, so with m = 4 and se = 1 the interval is 4·e^(−2.875/4) … 4·e^(1.875/4): longer above than below."""
    t = np.linspace(-2, 3, 1001)
    means = 4 * np.exp(0.25 * t)
    ses = 0.25 * means
    low, high = iv.studentized_log_interval(4.0, 1.0, means, ses)
    assert low == pytest.approx(4 * math.exp(-2.875 / 4))
    assert high == pytest.approx(4 * math.exp(1.875 / 4))
    assert iv.studentized_log_interval(0.0, 0.0, means, ses) == (None, None)


def test_the_rmse_interval_is_the_square_root_of_the_mse_interval_and_leans_up():
    rng = np.random.default_rng(5)
    y = rng.normal(size=400)
    truth = Truth.from_arrays(task="regression", y=y, groups=np.repeat(np.arange(20), 20))
    values = y + rng.normal(size=400) + rng.normal(0, 0.5, 20)[np.repeat(np.arange(20), 20)]
    report = evaluate(task="regression", truth=truth, predictions=Predictions.from_arrays(truth=truth, values=values))
    rmse = report["metrics"]["rmse"]
    assert rmse["value"] == pytest.approx(math.sqrt(np.mean((values - y) ** 2)), rel=1e-12)
    assert rmse["ci_low"] < rmse["value"] < rmse["ci_high"]
    assert rmse["ci_high"] - rmse["value"] > rmse["value"] - rmse["ci_low"]
    assert report["interval_methods"]["rmse"] == "studentized bootstrap of the MSE on the log scale, by group"


def test_regression_results_do_not_depend_on_how_groups_are_spelled():
    rng = np.random.default_rng(6)
    group = np.repeat(np.arange(15), 8)
    y = rng.normal(size=len(group))
    a, b = y + rng.normal(size=len(y)), y + 1.2 * rng.normal(size=len(y))
    reports = []
    for labels in ([f"s{g:02d}" for g in group], [f"{(15 - g) * 7919 % 1000}-x" for g in group]):
        truth = Truth.from_arrays(task="regression", y=y, groups=np.array(labels))
        reports.append(
            evaluate(
                task="regression",
                truth=truth,
                predictions=Predictions.from_arrays(truth=truth, values=a),
                champion=Predictions.from_arrays(truth=truth, values=b),
                seed=3,
                n_resamples=200,
            )
        )
    assert reports[0]["metrics"] == reports[1]["metrics"]
    assert reports[0]["comparisons"] == reports[1]["comparisons"]


def test_the_eer_interval_does_not_depend_on_the_row_order_within_ties():
    rng = np.random.default_rng(8)
    y = (rng.random(300) < 0.5).astype(int)
    scores = np.round(y + rng.normal(size=300), 0)  # a handful of distinct scores: long tie runs
    other = np.round(y + rng.normal(size=300), 0)
    order = rng.permutation(300)
    results = []
    for rows in (np.arange(300), order):
        truth = Truth.from_arrays(task="binary", y=y[rows])
        report = evaluate(
            task="binary",
            truth=truth,
            predictions=Predictions.from_arrays(truth=truth, scores=scores[rows]),
            champion=Predictions.from_arrays(truth=truth, scores=other[rows]),
            n_resamples=50,
        )
        results.append((report["metrics"]["eer"], report["comparisons"]["eer"]["ci_low"]))
    assert results[0][0]["value"] == results[1][0]["value"]
    assert results[0][0]["ci_high"] == pytest.approx(results[1][0]["ci_high"], rel=1e-12)
    assert results[0][1] == pytest.approx(results[1][1], rel=1e-12)
