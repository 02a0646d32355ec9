"""Sufficient statistics: they reproduce the raw rows' moments and merge in any order and any grouping."""

from __future__ import annotations

import itertools
import json
import random

import numpy as np
import pytest

from experiments.evaluation.online import SufficientStats


def _rows(seed: int = 0, n: int = 5000):
    rng = np.random.default_rng(seed)
    x = rng.lognormal(0, 1, n)
    y = 3 + 0.7 * x + rng.normal(0, 2, n)
    return y, x


def _assert_matches_rows(stats: SufficientStats, y, x, rel: float = 1e-12):
    assert stats.n == len(y)
    assert stats.mean == pytest.approx(y.mean(), rel=rel)
    assert stats.variance == pytest.approx(y.var(ddof=1), rel=rel)
    assert stats.covariate_mean == pytest.approx(x.mean(), rel=rel)
    assert stats.covariate_variance == pytest.approx(x.var(ddof=1), rel=rel)
    assert stats.covariance == pytest.approx(np.cov(x, y)[0, 1], rel=rel)
    assert stats.sum == pytest.approx(y.sum(), rel=rel)
    assert stats.sum_squares == pytest.approx((y * y).sum(), rel=rel)
    assert stats.covariate_sum == pytest.approx(x.sum(), rel=rel)
    assert stats.covariate_sum_squares == pytest.approx((x * x).sum(), rel=rel)
    assert stats.cross_sum == pytest.approx((x * y).sum(), rel=rel)


def test_a_batch_has_the_moments_of_its_rows():
    y, x = _rows()
    _assert_matches_rows(SufficientStats.from_values(y, x), y, x)


def test_batches_merged_in_any_order_and_grouping_give_the_moments_of_all_rows():
    y, x = _rows(seed=1)
    cuts = [0, 7, 500, 501, 1800, 3000, 4999, 5000]
    parts = [SufficientStats.from_values(y[a:b], x[a:b]) for a, b in itertools.pairwise(cuts)]
    parts.append(SufficientStats())  # an empty batch changes nothing
    whole = SufficientStats.from_values(y, x)
    orders = [parts, list(reversed(parts))]
    shuffler = random.Random(7)
    for _ in range(5):
        shuffled = parts[:]
        shuffler.shuffle(shuffled)
        orders.append(shuffled)
    for order in orders:
        _assert_matches_rows(SufficientStats.combine(order), y, x)
    # Associativity: a tree of merges (as parallel workers would build) equals a left fold.
    a, b, c = parts[0] + parts[1], parts[2] + parts[3] + parts[4], parts[5] + parts[6]
    tree = (a + b) + c
    other = a + (b + c)
    for name in ("mean", "m2", "covariate_mean", "covariate_m2", "comoment"):
        assert getattr(tree, name) == pytest.approx(getattr(other, name), rel=1e-12)
        assert getattr(tree, name) == pytest.approx(getattr(whole, name), rel=1e-12)
    assert tree.n == other.n == whole.n


def test_binary_counts_merge_exactly():
    parts = [SufficientStats.from_counts(100, k) for k in (70, 65, 0, 100, 72)]
    total = SufficientStats.combine(parts)
    assert total.n == 500
    assert total.successes == 307
    y = np.repeat([1.0, 0.0], [307, 193])
    assert total.variance == pytest.approx(y.var(ddof=1), rel=1e-12)


def test_a_large_mean_keeps_its_variance():
    """Centred moments survive where the sum-of-squares formula cancels to noise."""
    rng = np.random.default_rng(3)
    y = 1e9 + rng.normal(0, 1, 10_000)
    merged = SufficientStats.combine(SufficientStats.from_values(chunk) for chunk in np.array_split(y, 37))
    assert merged.variance == pytest.approx(y.var(ddof=1), rel=1e-6)
    naive = ((y * y).sum() - y.sum() ** 2 / y.size) / (y.size - 1)
    assert abs(naive - y.var(ddof=1)) > 0.01  # what storing raw sums of squares would have given


def test_without_a_covariate_the_covariate_moments_are_zero():
    stats = SufficientStats.from_values([1.0, 2.0, 4.0])
    assert (stats.covariate_mean, stats.covariate_m2, stats.comoment) == (0.0, 0.0, 0.0)


def test_no_units_and_one_unit_have_no_variance():
    assert SufficientStats().variance is None
    assert SufficientStats.from_values([]).n == 0
    one = SufficientStats.from_values([5.0], [1.0])
    assert (one.n, one.mean, one.variance, one.covariance) == (1, 5.0, None, None)


def test_it_round_trips_through_json():
    y, x = _rows(seed=4, n=100)
    stats = SufficientStats.from_values(y, x)
    assert SufficientStats.from_dict(json.loads(json.dumps(stats.to_dict()))) == stats


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"n": 3, "mean": 1.0, "m2": 1.0, "covariate_mean": 0.0, "covariate_m2": 0.0}, "comoment: missing"),
        ({"n": -1, "mean": 1.0, "m2": 1.0, "covariate_mean": 0.0, "covariate_m2": 0.0, "comoment": 0.0}, "n:"),
        ({"n": 2.5, "mean": 1.0, "m2": 1.0, "covariate_mean": 0.0, "covariate_m2": 0.0, "comoment": 0.0}, "n:"),
        ({"n": 3, "mean": "1", "m2": 1.0, "covariate_mean": 0.0, "covariate_m2": 0.0, "comoment": 0.0}, "mean:"),
        ({"n": 3, "mean": 1.0, "m2": -1.0, "covariate_mean": 0.0, "covariate_m2": 0.0, "comoment": 0.0}, "m2:"),
        ({"n": 3, "mean": float("nan"), "m2": 1.0, "covariate_mean": 0, "covariate_m2": 0, "comoment": 0}, "mean:"),
    ],
)
def test_impossible_stored_statistics_are_refused_by_field(data, message):
    with pytest.raises(ValueError, match=message):
        SufficientStats.from_dict(data)


def test_a_non_finite_outcome_is_refused_with_its_position():
    with pytest.raises(ValueError, match="outcome: position 2 is nan"):
        SufficientStats.from_values([1.0, 2.0, float("nan")])
    with pytest.raises(ValueError, match="covariate: position 0 is inf"):
        SufficientStats.from_values([1.0], [float("inf")])
    with pytest.raises(ValueError, match="covariate: 1 values for 2 outcomes"):
        SufficientStats.from_values([1.0, 2.0], [1.0])


def test_impossible_counts_are_refused():
    with pytest.raises(ValueError, match="successes"):
        SufficientStats.from_counts(10, 11)
