"""LORD++ levels for a sequence of promotion tests on one evaluation set, worked by hand."""

from __future__ import annotations

import itertools
import math

import pytest

from experiments.evaluation.sequential import Lord, detectable_effect, gamma, gamma_javanmard_montanari

ZETA = 2.612375348685488  # Σ j^-1.5


def test_gamma_by_hand():
    assert gamma(1) == pytest.approx(1 / ZETA)  # 0.382793
    assert gamma(4) == pytest.approx(1 / (8 * ZETA))  # 4^-1.5 = 1/8
    assert gamma(0) == 0.0
    assert sum(gamma(j) for j in range(1, 200_000)) == pytest.approx(1.0, abs=0.005)
    values = [gamma(j) for j in range(1, 200)]
    assert all(a > b for a, b in itertools.pairwise(values))
    assert gamma_javanmard_montanari(1) == pytest.approx(0.07720838 * math.log(2))


def test_a_hand_worked_sequence():
    """α = 5%, W₀ = 2.5%, γ₁..γ₄ = 0.382793, 0.135335, 0.073667, 0.047849. p-values 0.005, 0.3, 0.002, 0.2:
    test 1: 0.025·γ₁ = 0.009570 → 0.005 rejects (τ₁ = 1);
    test 2: 0.025·γ₂ + (0.05 − 0.025)·γ₁ = 0.003383 + 0.009570 = 0.012953 → 0.3 does not;
    test 3: 0.025·γ₃ + 0.025·γ₂ = 0.001842 + 0.003383 = 0.005225 → 0.002 rejects (τ₂ = 3);
    test 4: 0.025·γ₄ + 0.025·γ₃ + 0.05·γ₁ = 0.001196 + 0.001842 + 0.019140 = 0.022178 → 0.2 does not."""
    lord = Lord(alpha=0.05)
    run = lord.run([0.005, 0.3, 0.002, 0.2])
    assert [round(level, 6) for level, _ in run] == [0.00957, 0.012953, 0.005225, 0.022178]
    assert [rejected for _, rejected in run] == [True, False, True, False]
    assert lord.level(4, [1, 3]) == run[3][0]


def test_without_promotions_the_levels_only_fall_and_sum_below_the_initial_wealth():
    lord = Lord()
    levels = [lord.level(t) for t in range(1, 51)]
    assert all(a > b for a, b in itertools.pairwise(levels))
    assert sum(levels) < lord.wealth
    assert lord.level(38) == pytest.approx(0.025 * 38**-1.5 / ZETA)  # 0.0041%


def test_only_earlier_rejections_count():
    lord = Lord()
    assert lord.level(3, [3, 5]) == lord.level(3)
    with pytest.raises(ValueError):
        lord.level(0)


def test_detectable_effect():
    # z_{0.975} + z_{0.8} = 1.95996 + 0.84162 = 2.80158
    assert detectable_effect(0.05, 0.01) == pytest.approx(0.0280158, rel=1e-5)
    assert detectable_effect(0.001, 0.01) > detectable_effect(0.05, 0.01)
