"""Deterministic, stateless, sticky assignment of a unit to a variant.

The rule, exactly, so that a production service can assign locally in any language and agree with
AgileML bit for bit:

1. ``key = salt + ":" + unit``, encoded as UTF-8 (the salt may not contain ``":"``, so the split is
   unambiguous; the unit may be any string).
2. ``digest = SHA-256(key)``; ``x`` = the first 8 bytes of the digest read as an unsigned 64-bit
   big-endian integer.
3. ``u = (x >> 11) / 2**53`` — the top 53 bits, so ``u`` is exactly representable as an IEEE-754
   double and lies in [0, 1) (dividing all 64 bits by 2**64 could round up to 1.0).
4. Boundaries ``b_i = (w_1 + … + w_i) / (w_1 + … + w_k)`` for the arms in the order the test lists
   them, the sums accumulated left to right in double precision. The unit gets the first arm with
   ``u < b_i`` (the last arm if rounding leaves none).

Test vectors (salt ``"checkout-42"``; the first 8 bytes of the digest in hex, then ``u``)::

    unit "user-1"  655064de7c613e85  u = 0.39575796539100316
    unit "user-7"  a45af14aeff73243  u = 0.6420126731827309
    unit "user-9"  e870f58d39451a89  u = 0.9079736203941774
    unit 42        d2a9c231112b9d2e  u = 0.8229028100769668

With arms ``[("champion", 1), ("challenger", 1)]`` (boundaries 0.5, 1.0) user-1 sees the champion and
user-7, user-9 and 42 the challenger; with ``[("champion", 90), ("challenger", 10)]`` (boundaries 0.9,
1.0) only user-9 sees the challenger. In a shell, ``printf 'checkout-42:user-1' | sha256sum`` starts
with the first digest. These are pinned in ``tests/experiments/evaluation/online/test_assignment.py``.

Stickiness comes from the hash alone: no state, no database write. A different salt per test makes
assignments independent across tests. Changing the weights of a running test moves units between
arms (and invalidates the comparison); the sample-ratio check catches a split that is not the
planned one.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence

Arms = Sequence[tuple[str, float]]

_TOP_53_BITS_SHIFT = 64 - 53
_TWO_TO_53 = float(2**53)


def _validate_salt(salt: str) -> None:
    if not isinstance(salt, str) or not salt:
        raise ValueError("salt: must be a non-empty string")
    if ":" in salt:
        raise ValueError(f'salt: may not contain ":" (got {salt!r}), so that "<salt>:<unit>" is unambiguous')


def validate_arms(arms: Iterable[tuple[str, float]]) -> list[tuple[str, float]]:
    """The arms as a list of ``(variant, weight)``, or ValueError naming what is wrong.

    Every weight must be a finite number > 0 and every variant name a distinct non-empty string.
    """
    checked: list[tuple[str, float]] = []
    seen: set[str] = set()
    for position, arm in enumerate(arms, start=1):
        if isinstance(arm, str | bytes) or not isinstance(arm, Sequence) or len(arm) != 2:
            raise ValueError(f"arms: item {position} must be a (variant, weight) pair, not {arm!r}")
        variant, weight = arm
        if not isinstance(variant, str) or not variant:
            raise ValueError(f"arms: item {position} needs a non-empty variant name")
        if variant in seen:
            raise ValueError(f"arms: variant {variant!r} is listed twice")
        try:
            weight = float(weight)
        except (TypeError, ValueError):
            raise ValueError(f"arms: the weight of {variant!r} must be a number, not {weight!r}") from None
        if not math.isfinite(weight) or weight <= 0:
            raise ValueError(f"arms: the weight of {variant!r} must be a finite number > 0, not {weight!r}")
        seen.add(variant)
        checked.append((variant, weight))
    if len(checked) < 2:
        raise ValueError("arms: a test needs at least two arms (the champion and a challenger)")
    return checked


def assignment_point(salt: str, unit: str | int) -> float:
    """The unit's position ``u`` in [0, 1) for this salt (steps 1–3 of the module docstring).

    An integer unit is the string of its decimal digits (``42`` and ``"42"`` are the same unit).
    """
    _validate_salt(salt)
    return _point(f"{salt}:", unit)


def _point(prefix: str, unit: str | int) -> float:
    if isinstance(unit, bool) or not isinstance(unit, str | int):
        raise TypeError(f"unit: must be a string (or an integer), not {type(unit).__name__}")
    digest = hashlib.sha256(f"{prefix}{unit}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> _TOP_53_BITS_SHIFT) / _TWO_TO_53


def boundaries(arms: Arms) -> list[float]:
    """The cumulative boundaries ``b_i`` of step 4, in the arms' order (the last is 1.0)."""
    return _boundaries(validate_arms(arms))


def _boundaries(checked: list[tuple[str, float]]) -> list[float]:
    total = 0.0
    for _, weight in checked:
        total += weight
    running = 0.0
    result = []
    for _, weight in checked:
        running += weight
        result.append(running / total)
    return result


class Assigner:
    """One test's assignment rule, validated once: ``Assigner(salt, arms).assign(unit)``.

    For callers that assign many units of the same test (the assignment endpoint, simulations).
    """

    def __init__(self, salt: str, arms: Arms) -> None:
        _validate_salt(salt)
        checked = validate_arms(arms)
        self.salt = salt
        self.variants = [variant for variant, _ in checked]
        self.boundaries = _boundaries(checked)
        self._prefix = f"{salt}:"

    def point(self, unit: str | int) -> float:
        """``assignment_point(salt, unit)``."""
        return _point(self._prefix, unit)

    def assign(self, unit: str | int) -> str:
        u = self.point(unit)
        for variant, bound in zip(self.variants, self.boundaries, strict=True):
            if u < bound:
                return variant
        return self.variants[-1]


def assign(salt: str, unit: str | int, arms: Arms) -> str:
    """The variant this unit sees in the test with this salt: deterministic, sticky, stateless.

    Parameters
    ----------
    salt : str
        The test's assignment key (no ``":"``), fixed for the life of the test.
    unit : str or int
        The unit of randomisation (user, session or device id).
    arms : sequence of (variant, weight)
        In the test's order; weights are relative (``[("a", 1), ("b", 1)]`` is 50/50).

    Returns
    -------
    str
        The variant name. See the module docstring for the exact rule and test vectors.
    """
    return Assigner(salt, arms).assign(unit)
