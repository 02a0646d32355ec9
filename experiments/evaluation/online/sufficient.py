"""Per-variant sufficient statistics of one outcome (and its pre-period covariate), mergeable in any order.

Workers summarise each batch of de-duplicated events into a ``SufficientStats`` and add it to the
variant's running total; addition is commutative and associative (up to floating-point rounding, about
1e-15 relative), so batches may be aggregated incrementally, in parallel and in any order.

What is stored is the count, the means and the centred second moments (Σ(y − ȳ)², Σ(x − x̄)²,
Σ(x − x̄)(y − ȳ)) rather than raw sums of squares: those determine the same sums (``sum``,
``sum_squares``, ``covariate_sum``, ``covariate_sum_squares``, ``cross_sum``), but the variance as
``(Σy² − (Σy)²/n) / (n − 1)`` cancels catastrophically when the mean is large against the spread (an
outcome of 10⁶ ± 1 loses every digit), while merging centred moments with the pairwise update of Chan,
Golub & LeVeque (1979) keeps full precision.

One observation is one unit: the statistics treat observations as independent, so an app that
receives several events per unit must aggregate them to the unit first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

import numpy as np

FIELDS = ("n", "mean", "m2", "covariate_mean", "covariate_m2", "comoment")


@dataclass(frozen=True)
class SufficientStats:
    """Count, means and centred moments of an outcome ``y`` and a covariate ``x`` (0 when there is none).

    Attributes
    ----------
    n : int
        Number of units.
    mean, m2 : float
        ȳ and Σ(y − ȳ)².
    covariate_mean, covariate_m2 : float
        x̄ and Σ(x − x̄)².
    comoment : float
        Σ(x − x̄)(y − ȳ).
    """

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    covariate_mean: float = 0.0
    covariate_m2: float = 0.0
    comoment: float = 0.0

    # --- building -----------------------------------------------------------------------------
    @classmethod
    def from_values(cls, outcome, covariate=None) -> SufficientStats:
        """Statistics of a batch of units: ``outcome`` (n,) and optionally ``covariate`` (n,).

        Raises ValueError naming the first position (0-based) of a value that is not a finite number.
        """
        y = _finite_array(outcome, "outcome")
        if covariate is None:
            x = np.zeros_like(y)
        else:
            x = _finite_array(covariate, "covariate")
            if x.shape != y.shape:
                raise ValueError(f"covariate: {x.size} values for {y.size} outcomes")
        n = int(y.size)
        if n == 0:
            return cls()
        y_mean, x_mean = float(y.mean()), float(x.mean())
        dy, dx = y - y_mean, x - x_mean
        return cls(
            n=n,
            mean=y_mean,
            m2=float(dy @ dy),
            covariate_mean=x_mean,
            covariate_m2=float(dx @ dx),
            comoment=float(dx @ dy),
        )

    @classmethod
    def from_counts(cls, n: int, successes: int) -> SufficientStats:
        """Statistics of ``n`` binary outcomes of which ``successes`` are 1 (no covariate)."""
        n, successes = int(n), int(successes)
        if n < 0 or not 0 <= successes <= n:
            raise ValueError(f"successes: need 0 ≤ successes ≤ n, got {successes} of {n}")
        if n == 0:
            return cls()
        return cls(n=n, mean=successes / n, m2=successes * (n - successes) / n)

    def __add__(self, other: SufficientStats) -> SufficientStats:
        """The statistics of both sets of units together (Chan, Golub & LeVeque 1979)."""
        if not isinstance(other, SufficientStats):
            return NotImplemented
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        dy = other.mean - self.mean
        dx = other.covariate_mean - self.covariate_mean
        weight = self.n * other.n / n
        return SufficientStats(
            n=n,
            mean=self.mean + dy * other.n / n,
            m2=self.m2 + other.m2 + dy * dy * weight,
            covariate_mean=self.covariate_mean + dx * other.n / n,
            covariate_m2=self.covariate_m2 + other.covariate_m2 + dx * dx * weight,
            comoment=self.comoment + other.comoment + dx * dy * weight,
        )

    merge = __add__

    @classmethod
    def combine(cls, parts: Iterable[SufficientStats]) -> SufficientStats:
        """The sum of any number of parts (empty → no units)."""
        total = cls()
        for part in parts:
            total = total + part
        return total

    # --- the sums they stand for --------------------------------------------------------------------
    @property
    def sum(self) -> float:
        return self.n * self.mean

    @property
    def sum_squares(self) -> float:
        return self.m2 + self.n * self.mean * self.mean

    @property
    def covariate_sum(self) -> float:
        return self.n * self.covariate_mean

    @property
    def covariate_sum_squares(self) -> float:
        return self.covariate_m2 + self.n * self.covariate_mean * self.covariate_mean

    @property
    def cross_sum(self) -> float:
        """Σ x·y."""
        return self.comoment + self.n * self.covariate_mean * self.mean

    @property
    def successes(self) -> int:
        """For a binary outcome: the number of 1s."""
        return round(self.sum)

    # --- sample moments (None below two units) --------------------------------------------------------
    @property
    def variance(self) -> float | None:
        return self.m2 / (self.n - 1) if self.n >= 2 else None

    @property
    def covariate_variance(self) -> float | None:
        return self.covariate_m2 / (self.n - 1) if self.n >= 2 else None

    @property
    def covariance(self) -> float | None:
        return self.comoment / (self.n - 1) if self.n >= 2 else None

    # --- storage -------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, float | int]:
        """A JSON-ready dict (floats round-trip exactly through JSON)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> SufficientStats:
        """The inverse of ``to_dict``; ValueError naming the field when a value is missing or impossible."""
        values: dict[str, float | int] = {}
        for name in FIELDS:
            if name not in data:
                raise ValueError(f"{name}: missing")
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name}: must be a number, not {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"{name}: must be finite, not {value!r}")
            values[name] = value
        n = values["n"]
        if n != int(n) or n < 0:
            raise ValueError(f"n: must be a whole number ≥ 0, not {n!r}")
        for name in ("m2", "covariate_m2"):
            if values[name] < 0:
                raise ValueError(f"{name}: a sum of squares cannot be negative ({values[name]!r})")
        values["n"] = int(n)
        return cls(**values)


def _finite_array(values, name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: values must be numbers") from None
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ValueError(f"{name}: position {int(bad[0])} is {float(array[bad[0]])}, not a finite number")
    return array
