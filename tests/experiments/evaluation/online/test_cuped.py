"""CUPED from sufficient statistics against the reference computation on raw rows (numpy least squares)."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.evaluation.online import SufficientStats, cuped_adjust, cuped_theta


def _experiment(seed: int = 0, n=(3000, 2500, 2800)):
    """Three arms of revenue-like rows: a pre-period value x and an outcome y that depends on it."""
    rng = np.random.default_rng(seed)
    arms = []
    for k, size in enumerate(n):
        x = rng.lognormal(1.0, 0.8, size)
        y = 2.0 + 0.1 * k + 0.9 * x + rng.normal(0, 1.5, size)
        arms.append((y, x))
    return arms


def _stats(y, x, pieces: int = 7) -> SufficientStats:
    """As the workers build them: batch by batch."""
    return SufficientStats.combine(
        SufficientStats.from_values(yb, xb)
        for yb, xb in zip(np.array_split(y, pieces), np.array_split(x, pieces), strict=True)
    )


def test_theta_and_the_adjusted_arms_match_least_squares_on_the_rows():
    arms = _experiment()
    y_all = np.concatenate([y for y, _ in arms])
    x_all = np.concatenate([x for _, x in arms])
    design = np.column_stack([np.ones_like(x_all), x_all])
    (_, slope), *_ = np.linalg.lstsq(design, y_all, rcond=None)

    stats = [_stats(y, x) for y, x in arms]
    theta = cuped_theta(stats)
    assert theta == pytest.approx(slope, rel=1e-10)

    pooled_x = x_all.mean()
    for (y, x), arm in zip(arms, stats, strict=True):
        reference = y - slope * (x - pooled_x)  # Deng et al.'s adjusted outcome, row by row
        adjusted = cuped_adjust(arm, theta=theta, pooled_covariate_mean=SufficientStats.combine(stats).covariate_mean)
        assert adjusted.n == len(y)
        assert adjusted.mean == pytest.approx(reference.mean(), rel=1e-10)
        assert adjusted.variance == pytest.approx(reference.var(ddof=1), rel=1e-9)
        assert adjusted.variance < y.var(ddof=1)


def test_the_reduction_is_about_the_squared_correlation():
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, 40_000)
    y = 0.8 * x + 0.6 * rng.normal(0, 1, 40_000)  # corr(x, y) = 0.8
    arm = SufficientStats.from_values(y, x)
    adjusted = cuped_adjust(arm, theta=cuped_theta([arm]), pooled_covariate_mean=arm.covariate_mean)
    assert 1 - adjusted.variance / arm.variance == pytest.approx(0.64, abs=0.01)


def test_a_covariate_without_variance_cannot_adjust():
    arm = SufficientStats.from_values([1.0, 2.0, 3.0], [5.0, 5.0, 5.0])
    assert cuped_theta([arm]) is None
    assert cuped_theta([SufficientStats()]) is None
    assert cuped_theta([arm, SufficientStats.from_values([4.0], [5.0])]) is None


def test_an_outcome_that_is_a_linear_function_of_the_covariate_has_no_variance_left_never_a_negative_one():
    x = np.linspace(0, 1, 101) * 1e3
    arm = SufficientStats.from_values(3 * x + 7, x)
    adjusted = cuped_adjust(arm, theta=cuped_theta([arm]), pooled_covariate_mean=arm.covariate_mean)
    assert adjusted.variance >= 0
    assert adjusted.variance == pytest.approx(0, abs=1e-8)


def test_one_unit_has_an_adjusted_mean_but_no_variance():
    adjusted = cuped_adjust(SufficientStats.from_values([4.0], [2.0]), theta=0.5, pooled_covariate_mean=1.0)
    assert (adjusted.n, adjusted.mean, adjusted.variance) == (1, 3.5, None)
