"""LORD++ levels for a sequence of promotion tests on one evaluation set, worked by hand."""

from __future__ import annotations

import itertools
import math

import pytest

from experiments.evaluation.sequential import Lord, detectable_effect, gamma

C = 0.07720838


def _g(j: int) -> float:
    return C * math.log(max(j, 2)) / (j * math.exp(math.sqrt(math.log(j))))


def test_gamma_by_hand():
    assert gamma(1) == pytest.approx(C * math.log(2))  # exp(√log 1) = 1
    assert gamma(2) == pytest.approx(C * math.log(2) / (2 * math.exp(math.sqrt(math.log(2)))))
    assert gamma(0) == 0.0
    values = [gamma(j) for j in range(1, 200)]
    assert all(a >= b for a, b in itertools.pairwise(values))  # non-increasing


def test_a_hand_worked_sequence():
    """α = 5%, W₀ = 2.5%. p-values 0.001, 0.3, 0.0004, 0.2:
    test 1: 0.025·γ₁ = 0.001338 → 0.001 rejects (τ₁ = 1);
    test 2: 0.025·γ₂ + (0.05 − 0.025)·γ₁ = 0.001629 → 0.3 does not;
    test 3: 0.025·γ₃ + 0.025·γ₂ = 0.000539 → 0.0004 rejects (τ₂ = 3);
    test 4: 0.025·γ₄ + 0.025·γ₃ + 0.05·γ₁ = 0.000206 + 0.000248 + 0.002676 = 0.003130 → 0.2 does not."""
    lord = Lord(alpha=0.05)
    run = lord.run([0.001, 0.3, 0.0004, 0.2])
    expected = [
        0.025 * _g(1),
        0.025 * _g(2) + 0.025 * _g(1),
        0.025 * _g(3) + 0.025 * _g(2),
        0.025 * _g(4) + 0.025 * _g(3) + 0.05 * _g(1),
    ]
    assert [level for level, _ in run] == pytest.approx(expected, rel=1e-12)
    assert [round(level, 6) for level, _ in run] == [0.001338, 0.001629, 0.000539, 0.00313]
    assert [rejected for _, rejected in run] == [True, False, True, False]
    assert lord.level(4, [1, 3]) == pytest.approx(expected[3], rel=1e-12)


def test_without_promotions_the_levels_only_fall_and_sum_below_the_initial_wealth():
    lord = Lord()
    levels = [lord.level(t) for t in range(1, 51)]
    assert all(a > b for a, b in itertools.pairwise(levels))
    assert sum(levels) < lord.wealth
    assert lord.level(38) == pytest.approx(0.025 * _g(38))


def test_only_earlier_rejections_count():
    lord = Lord()
    assert lord.level(3, [3, 5]) == lord.level(3)
    with pytest.raises(ValueError):
        lord.level(0)


def test_detectable_effect():
    # z_{0.975} + z_{0.8} = 1.95996 + 0.84162 = 2.80158
    assert detectable_effect(0.05, 0.01) == pytest.approx(0.0280158, rel=1e-5)
    assert detectable_effect(0.001, 0.01) > detectable_effect(0.05, 0.01)
