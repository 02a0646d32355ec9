"""CUPED: variance reduction with a pre-period covariate (Deng, Xu, Kohavi & Walker, WSDM 2013).

Each unit's outcome ``y`` is replaced by ``y − θ (x − x̄)``, where ``x`` is the same unit's pre-period
value (known before assignment, so unaffected by the treatment) and ``θ = Cov(x, y) / Var(x)`` is
estimated once from the units of every arm pooled — the ordinary least-squares slope of y on x over
all rows. The adjusted means differ from the raw ones by ``θ (x̄_arm − x̄)``, whose expectation is 0
under randomisation, so the difference stays unbiased while its variance shrinks by about the squared
correlation of x and y. Everything here comes from the arms' ``SufficientStats``; no row is needed.

θ is estimated from the same data; its error adds only a term of smaller order to the variance, and
the simulations check the confidence sequence's coverage with CUPED on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from experiments.evaluation.online.sufficient import SufficientStats


@dataclass(frozen=True)
class Adjusted:
    """One arm's outcome after adjustment: units, mean and sample variance (None below two units)."""

    n: int
    mean: float
    variance: float | None


def cuped_theta(arms: Iterable[SufficientStats]) -> float | None:
    """θ from all arms pooled; None when the covariate has no variance (CUPED cannot help)."""
    pooled = SufficientStats.combine(arms)
    if pooled.n < 2 or pooled.covariate_m2 <= 0:
        return None
    return pooled.comoment / pooled.covariate_m2


def cuped_adjust(arm: SufficientStats, *, theta: float, pooled_covariate_mean: float) -> Adjusted:
    """The arm's mean and variance of ``y − θ (x − x̄_pooled)``."""
    mean = arm.mean - theta * (arm.covariate_mean - pooled_covariate_mean)
    if arm.n < 2:
        return Adjusted(arm.n, mean, None)
    m2 = arm.m2 - 2 * theta * arm.comoment + theta * theta * arm.covariate_m2
    # A sum of squares; rounding can leave it a hair below zero when y is an exact linear function of x.
    return Adjusted(arm.n, mean, max(m2, 0.0) / (arm.n - 1))


def unadjusted(arm: SufficientStats) -> Adjusted:
    return Adjusted(arm.n, arm.mean, arm.variance)
