"""The bootstrap machinery: weighted ROC statistics by brackets equal the slow way, weights are Poisson(1) and
reproducible, and the contingency-table resampling is the row bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.evaluation.resampling import Resampler, RocBootstrap
from experiments.evaluation.roc import eer_from_points, frr_at_far_from_points, rank, roc_points

TARGETS = ["eer", 1e-2, 0.1, 0.5]


def slow_statistics(scores, y, row_weights) -> list[float]:
    """Replicate each row by its integer weight, rebuild the ROC from scratch."""
    s, t = np.repeat(scores, row_weights), np.repeat(y, row_weights)
    if t.size == 0 or t.min() == t.max():
        return [math.nan] * len(TARGETS)
    far, frr = roc_points(rank(s, t))
    return [eer_from_points(far, frr)] + [frr_at_far_from_points(far, frr, x) for x in TARGETS[1:]]


@pytest.mark.parametrize("seed", range(30))
def test_bracketed_weighted_roc_equals_replicating_rows(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 600))
    y = (rng.random(n) < rng.uniform(0.05, 0.95)).astype(np.int8)
    y[:2] = [0, 1]
    scores = np.round(rng.normal(size=n) + y, int(rng.choice([0, 1, 4])))  # from heavy ties to none
    n_units = int(rng.integers(1, 60))
    unit = rng.integers(0, n_units, n)
    boot = RocBootstrap(rank(scores, y), unit, n_units, block=int(rng.integers(1, 80)))
    weights = np.vstack([np.ones(n_units), rng.poisson(1.0, (6, n_units))]).astype(np.float64)
    got = boot.statistics(weights, TARGETS)
    for r, w in enumerate(weights):
        expected = slow_statistics(scores, y, w[unit].astype(int))
        np.testing.assert_allclose(got[r], expected, rtol=0, atol=1e-12)


def test_default_block_size_agrees_with_any_block_size():
    rng = np.random.default_rng(1)
    n = 20_000
    y = (rng.random(n) < 0.3).astype(np.int8)
    scores = rng.normal(size=n) + y
    unit = rng.integers(0, 500, n)
    weights = rng.poisson(1.0, (40, 500)).astype(np.float64)
    ranking = rank(scores, y)
    default = RocBootstrap(ranking, unit, 500).statistics(weights, TARGETS)
    np.testing.assert_allclose(
        default, RocBootstrap(ranking, unit, 500, block=7).statistics(weights, TARGETS), atol=1e-12
    )


def test_weights_are_poisson_one_and_reproducible():
    resampler = Resampler(n_rows=5000, groups=None, n_groups=None, n_resamples=400, seed=3)
    assert resampler.kind == "rows"
    chunks = [w.copy() for _, w in resampler.chunks()]
    weights = np.vstack(chunks)
    assert weights.shape == (400, 5000)
    assert weights.mean() == pytest.approx(1.0, abs=0.005)
    assert weights.var() == pytest.approx(1.0, abs=0.01)
    counts = np.bincount(weights.astype(int).ravel(), minlength=6)[:6] / weights.size
    expected = [math.exp(-1) / math.factorial(k) for k in range(6)]
    np.testing.assert_allclose(counts, expected, atol=0.002)
    again = np.vstack(
        [w.copy() for _, w in Resampler(n_rows=5000, groups=None, n_groups=None, n_resamples=400, seed=3).chunks()]
    )
    np.testing.assert_array_equal(weights, again)
    other = np.vstack(
        [w.copy() for _, w in Resampler(n_rows=5000, groups=None, n_groups=None, n_resamples=400, seed=4).chunks()]
    )
    assert not np.array_equal(weights, other)


def test_units_are_groups_rows_or_balanced_random_buckets():
    groups = np.array([0, 0, 1, 2, 2, 2])
    assert Resampler(n_rows=6, groups=groups, n_groups=3, n_resamples=1, seed=0).n_units == 3
    assert Resampler(n_rows=6, groups=None, n_groups=None, n_resamples=1, seed=0).kind == "rows"
    buckets = Resampler(n_rows=25_000, groups=None, n_groups=None, n_resamples=1, seed=0, max_units=1000)
    assert buckets.kind == "random buckets of rows"
    sizes = np.bincount(buckets.unit)
    assert sizes.min() == sizes.max() == 25
    # Random, not contiguous: neighbouring rows land in different buckets.
    assert np.mean(buckets.unit[1:] == buckets.unit[:-1]) < 0.01


def test_contingency_resampling_without_groups_is_the_row_bootstrap():
    """Per-cell Poisson(count) has the mean and covariance of summing Poisson(1) row weights per cell."""
    rng = np.random.default_rng(2)
    cells = rng.choice(4, 3000, p=[0.5, 0.3, 0.15, 0.05])
    resampler = Resampler(n_rows=3000, groups=None, n_groups=None, n_resamples=4000, seed=5)
    tables = np.vstack([t for _, t in resampler.resample_cells(cells, 4)])
    counts = np.bincount(cells, minlength=4)
    np.testing.assert_allclose(tables.mean(axis=0), counts, rtol=0.01)
    np.testing.assert_allclose(tables.var(axis=0), counts, rtol=0.08)


def test_contingency_resampling_with_groups_moves_whole_groups():
    groups = np.repeat(np.arange(50), 4)
    cells = np.tile([0, 1, 1, 2], 50)  # every group has one row in cell 0, two in 1, one in 2
    resampler = Resampler(n_rows=200, groups=groups, n_groups=50, n_resamples=300, seed=1)
    tables = np.vstack([t for _, t in resampler.resample_cells(cells, 3)])
    np.testing.assert_array_equal(tables[:, 1], 2 * tables[:, 0])
    np.testing.assert_array_equal(tables[:, 2], tables[:, 0])
