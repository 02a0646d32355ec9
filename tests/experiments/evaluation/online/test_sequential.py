"""The normal-mixture confidence sequence: the closed form against hand-worked numbers, against the mixture
computed directly by numerical integration, against Waudby-Smith et al.'s parameterisation, and its
time-uniform error on simulated streams."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from experiments.evaluation.online import SufficientStats, sequential


def test_the_half_width_by_hand():
    # v = 1e-4, τ² = 4e-4, α = 0.05:  (v + τ²)/v = 5;  log(√5 / 0.05) = log(44.72136) = 3.800451;
    # 2 v (v + τ²)/τ² = 2 · 1e-4 · 5e-4 / 4e-4 = 2.5e-4;  h = √(2.5e-4 · 3.800451) = √9.501128e-4 = 0.0308239.
    assert sequential.half_width(1e-4, 4e-4, 0.05) == pytest.approx(0.0308239, rel=1e-6)
    # v = τ² = 1e-4, α = 0.01:  2 v (2v)/v = 4e-4;  log(√2 / 0.01) = log(141.42136) = 4.951744;
    # h = √(4e-4 · 4.951744) = √1.9806976e-3 = 0.0445050.
    assert sequential.half_width(1e-4, 1e-4, 0.01) == pytest.approx(0.0445050, rel=1e-6)


def _mixture_likelihood_ratio(estimate: float, variance: float, tau2: float, null: float) -> float:
    """Λ(θ₀) = ∫ N(d; θ, v) / N(d; θ₀, v) dN(θ; θ₀, τ²), integrated numerically — no closed form used."""
    sd = math.sqrt(tau2)

    def integrand(theta: float) -> float:
        log_ratio = ((estimate - null) ** 2 - (estimate - theta) ** 2) / (2 * variance)
        return math.exp(log_ratio) * stats.norm.pdf(theta, null, sd)

    centre = null + tau2 / (variance + tau2) * (estimate - null)  # the posterior mode, where the mass is
    spread = 12 * math.sqrt(variance * tau2 / (variance + tau2))
    return integrate.quad(integrand, centre - spread, centre + spread, epsabs=0, epsrel=1e-11, limit=200)[0]


@pytest.mark.parametrize(
    ("units_per_arm", "sd", "tau", "alpha"),
    [(100, 0.46, 0.02, 0.05), (1_000, 0.46, 0.02, 0.05), (20_000, 0.46, 0.02, 0.05), (5_000, 3.0, 0.1, 0.01)],
)
def test_the_sequence_is_where_the_mixture_likelihood_ratio_stays_below_one_over_alpha(units_per_arm, sd, tau, alpha):
    variance = 2 * sd * sd / units_per_arm
    estimate = 0.013
    h = sequential.half_width(variance, tau * tau, alpha)
    # The closed form only brackets the root (Λ is monotone in |d − θ₀|); brentq finds it on its own.
    upper = optimize.brentq(
        lambda null: _mixture_likelihood_ratio(estimate, variance, tau * tau, null) - 1 / alpha,
        estimate + 0.5 * h,
        estimate + 1.5 * h,
        xtol=1e-14,
        rtol=1e-12,
    )
    assert upper - estimate == pytest.approx(h, rel=1e-7)
    # And the p-value is 1/Λ(0), by the same direct integration.
    direct = _mixture_likelihood_ratio(estimate, variance, tau * tau, 0.0)
    assert sequential.p_value(estimate, variance, tau * tau) == pytest.approx(min(1.0, 1 / direct), rel=1e-7)


@pytest.mark.parametrize("t", [50, 400, 3_000, 40_000])
def test_it_is_waudby_smiths_gaussian_mixture_asymptotic_cs(t):
    """μ̂ ± σ̂ √( 2(tρ² + 1)/(t²ρ²) · log(√(tρ² + 1)/α) ) with v = σ²/t and τ² = σ²ρ²."""
    sigma, rho, alpha = 0.9, 0.03, 0.05
    theirs = sigma * math.sqrt(2 * (t * rho**2 + 1) / (t * t * rho**2) * math.log(math.sqrt(t * rho**2 + 1) / alpha))
    assert sequential.half_width(sigma**2 / t, (sigma * rho) ** 2, alpha) == pytest.approx(theirs, rel=1e-12)


def test_the_p_value_and_the_sequence_agree():
    """p ≤ α exactly when 0 is outside the sequence; at the boundary p = α."""
    variance, tau2, alpha = 3e-5, 4e-4, 0.05
    h = sequential.half_width(variance, tau2, alpha)
    assert sequential.p_value(h, variance, tau2) == pytest.approx(alpha, rel=1e-9)
    assert sequential.p_value(-h, variance, tau2) == pytest.approx(alpha, rel=1e-9)
    assert sequential.p_value(0.9 * h, variance, tau2) > alpha
    assert sequential.p_value(1.1 * h, variance, tau2) < alpha
    assert sequential.p_value(0.0, variance, tau2) == 1.0
    # Far out the likelihood ratio overflows a float; the p-value must still be a number.
    assert sequential.p_value(1e3, 1e-12, tau2) == 0.0


def test_it_accepts_arrays_of_looks():
    v = np.array([1e-3, 1e-4, 1e-5])
    assert sequential.half_width(v, 4e-4, 0.05) == pytest.approx([sequential.half_width(x, 4e-4, 0.05) for x in v])
    assert sequential.p_value(np.array([0.0, 0.02, 0.05]), v, 4e-4) == pytest.approx(
        [sequential.p_value(d, x, 4e-4) for d, x in zip([0.0, 0.02, 0.05], v, strict=True)]
    )


@pytest.mark.parametrize("alpha", [0.1, 0.05, 0.01, 0.001])
def test_the_optimal_mixing_ratio_minimises_the_width(alpha):
    def width(s: float) -> float:
        return sequential.half_width(1.0, s, alpha)  # v = 1, so τ² = s

    best = optimize.minimize_scalar(width, bounds=(0.1, 200), method="bounded", options={"xatol": 1e-9})
    assert sequential.optimal_mixing_ratio(alpha) == pytest.approx(best.x, rel=1e-5)
    approximation = -2 * math.log(alpha) + math.log(1 - 2 * math.log(alpha))  # Waudby-Smith et al.'s
    assert sequential.optimal_mixing_ratio(alpha) == pytest.approx(approximation, rel=0.05)


def test_tuning_for_a_planned_sample_size_makes_the_sequence_tightest_there():
    n, sd, alpha = 20_000, math.sqrt(0.7 * 0.3), 0.05
    tau2 = sequential.mixing_variance_for_sample_size(units_per_arm=n, sd=sd, alpha=alpha)
    variance = 2 * sd * sd / n
    for other in (0.5 * tau2, 0.8 * tau2, 1.25 * tau2, 2 * tau2):
        assert sequential.half_width(variance, tau2, alpha) < sequential.half_width(variance, other, alpha)
    assert sequential.mixing_variance_for_effect(0.02) == pytest.approx(4e-4)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sequential.mixing_variance_for_effect(0), "min_effect"),
        (lambda: sequential.mixing_variance_for_effect(float("nan")), "min_effect"),
        (lambda: sequential.mixing_variance_for_sample_size(units_per_arm=0, sd=1, alpha=0.05), "units_per_arm"),
        (lambda: sequential.mixing_variance_for_sample_size(units_per_arm=10, sd=0, alpha=0.05), "sd"),
        (lambda: sequential.half_width(1e-4, 4e-4, 1.5), "alpha"),
    ],
)
def test_bad_tuning_is_refused_by_name(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_stream_with_no_difference_rarely_ever_leaves_the_sequence():
    """Time-uniform validity: 2,000 Gaussian streams, 400 looks each; the sequence at α = 0.05 must contain
    the true difference at every look in at least 95% of streams (Monte Carlo SE 0.5%), while the pointwise
    95% interval peeked at the same looks does far worse."""
    rng = np.random.default_rng(11)
    streams, looks, batch, sd = 2_000, 400, 50, 1.0
    # Per look, the batch means of the two arms' differences are exactly normal: draw them directly.
    steps = rng.normal(0.0, sd * math.sqrt(2 / batch), (streams, looks))
    n = batch * np.arange(1, looks + 1)
    estimate = np.cumsum(steps * batch, axis=1) / n
    variance = 2 * sd * sd / n
    h = sequential.half_width(variance, 0.1**2, 0.05)
    ever_out = (np.abs(estimate) > h).any(axis=1).mean()
    assert ever_out <= 0.05
    peeked = (np.abs(estimate) > 1.96 * np.sqrt(variance)).any(axis=1).mean()
    assert peeked > 0.25


def test_the_fixed_horizon_test_is_welchs_t():
    rng = np.random.default_rng(5)
    a, b = rng.normal(0, 1, 300), rng.normal(0.2, 2, 500)
    expected = stats.ttest_ind(b, a, equal_var=False).pvalue
    got = sequential.fixed_horizon_p_value(SufficientStats.from_values(a), SufficientStats.from_values(b))
    assert got == pytest.approx(expected, rel=1e-10)


def test_the_fixed_horizon_test_has_no_answer_without_data():
    one = SufficientStats.from_values([1.0])
    flat = SufficientStats.from_values([1.0, 1.0, 1.0])
    assert sequential.fixed_horizon_p_value(one, flat) is None
    assert sequential.fixed_horizon_p_value(flat, flat) is None
