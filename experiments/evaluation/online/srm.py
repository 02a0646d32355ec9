"""Sample-ratio mismatch: is the observed split of units across arms the planned one?

A split that is off (a 50/50 test receiving 51/49 over 100,000 units) means assignment or logging is
broken for some units — a bug that biases the comparison in ways no statistic can correct — so a
flagged test's results must not be trusted. The check is Pearson's chi-square goodness of fit of the
units per arm against the planned weights, at a strict level (0.001 by default): it runs at every look,
and a bug this test exists to catch shows up with p-values far smaller than that.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from scipy import special

from experiments.evaluation.online.assignment import Arms, validate_arms

SRM_LEVEL = 0.001
# Pearson's approximation wants every expected count ≥ 5 (Cochran's rule).
MIN_EXPECTED = 5.0


@dataclass(frozen=True)
class SRMResult:
    """``flagged`` is True only with a p-value below ``level``; without enough units ``p_value`` is None."""

    p_value: float | None
    flagged: bool
    statistic: float | None
    level: float
    observed: dict[str, int] = field(default_factory=dict)
    expected: dict[str, float] = field(default_factory=dict)
    reason: str | None = None

    def to_dict(self) -> dict:
        return {
            "p_value": self.p_value,
            "flagged": self.flagged,
            "statistic": self.statistic,
            "level": self.level,
            "observed": dict(self.observed),
            "expected": dict(self.expected),
            "reason": self.reason,
        }


def srm_check(observed: Mapping[str, int], arms: Arms, *, level: float = SRM_LEVEL) -> SRMResult:
    """Chi-square test of the units per arm (``observed``, by variant) against the planned weights.

    Arms absent from ``observed`` have 0 units; a variant not in ``arms`` is a ValueError.
    """
    if not 0 < level < 1:
        raise ValueError(f"srm_level: must be between 0 and 1, not {level!r}")
    planned = validate_arms(arms)
    names = {variant for variant, _ in planned}
    unknown = sorted(set(observed) - names)
    if unknown:
        raise ValueError(f"observed: variant {unknown[0]!r} is not an arm of this test")
    counts = {}
    for variant, _ in planned:
        count = observed.get(variant, 0)
        if isinstance(count, bool) or int(count) != count or count < 0:
            raise ValueError(f"observed: the units of {variant!r} must be a whole number ≥ 0, not {count!r}")
        counts[variant] = int(count)
    total_units = sum(counts.values())
    total_weight = math.fsum(weight for _, weight in planned)
    expected = {variant: total_units * weight / total_weight for variant, weight in planned}
    smallest = min(expected.values())
    if smallest < MIN_EXPECTED:
        return SRMResult(
            p_value=None,
            flagged=False,
            statistic=None,
            level=level,
            observed=counts,
            expected=expected,
            reason=f"not enough units yet to check the split ({total_units} units; every arm needs an "
            f"expected {MIN_EXPECTED:g} or more)",
        )
    # Pearson's statistic and the chi-square survival function with k − 1 degrees of freedom: what
    # scipy.stats.chisquare computes (the tests check that), without its ~1 ms of argument handling per
    # call — the check runs at every look, and thousands of times per simulation.
    statistic = math.fsum((counts[v] - expected[v]) ** 2 / expected[v] for v in counts)
    p = float(special.chdtrc(len(counts) - 1, statistic))
    flagged = p < level
    return SRMResult(
        p_value=p,
        flagged=flagged,
        statistic=statistic,
        level=level,
        observed=counts,
        expected=expected,
        reason=(
            f"sample ratio mismatch: the split of units differs from the planned one (p = {p:.2g} < {level:g}); "
            "assignment or logging is broken, so the comparison cannot be trusted"
            if flagged
            else None
        ),
    )
