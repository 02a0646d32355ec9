"""What the data can support: the smallest number of groups for a verdict, and for a rare-error metric.

The thresholds were chosen by simulation (``python -m bench calibration``, table in
``bench/calibration_results.txt``), with the small-sample corrections of ``intervals`` in place:

- **Groups.** With 5 groups of 20 rows the corrected tests still called equal models different more than
  7% of the time for the bootstrap metrics (and intervals undercovered); from 10 groups every verdict
  held type-I error ≤ 7% and coverage 92–97.5%. Below ``MIN_GROUPS_FOR_VERDICT`` groups the engine gives
  intervals marked approximate and the verdict ``insufficient_data``; below ``APPROXIMATE_BELOW_GROUPS``
  the intervals are still marked approximate (the corrections rest on approximately equal group sizes and
  near-normal group totals, which few groups cannot check).
- **Rare errors.** FRR at FAR f is decided by the top ``f · negatives`` negative scores. With ~0.6 such
  scores (FAR 1e-3, 600 negatives) the percentile bootstrap covered 68%; with at least
  ``MIN_EXCEEDANCES`` expected exceedances (``MIN_EXCEEDANCES / f`` negatives) it covered ≥ 93%.
  Grouped data also need ``MIN_NEGATIVE_GROUPS`` groups that hold negatives, so that the extreme
  negatives do not all come from a couple of subjects.
"""

from __future__ import annotations

import math

MIN_GROUPS_FOR_VERDICT = 10
APPROXIMATE_BELOW_GROUPS = 20
MIN_EXCEEDANCES = 20
MIN_NEGATIVE_GROUPS = 10


def groups_reason(n_groups: int | None) -> str | None:
    """Why no verdict can be given with ``n_groups`` groups, or None when it can (or without groups)."""
    if n_groups is None or n_groups >= MIN_GROUPS_FOR_VERDICT:
        return None
    return f"{n_groups} groups; a verdict needs at least {MIN_GROUPS_FOR_VERDICT}"


def approximate(n_groups: int | None) -> bool:
    """Whether intervals from ``n_groups`` groups are only approximate."""
    return n_groups is not None and n_groups < APPROXIMATE_BELOW_GROUPS


def negatives_needed(far: float) -> int:
    return math.ceil(MIN_EXCEEDANCES / far - 1e-9)


def rare_error_reason(far: float, n_negatives: int, negative_groups: int | None) -> str | None:
    """Why FRR at FAR ``far`` is not estimable, or None when it is.

    ``negative_groups``: how many groups hold at least one negative (None without groups).
    """
    needed = negatives_needed(far)
    if n_negatives < needed:
        return f"not estimable with {n_negatives:,} negatives (needs ≥ {needed:,})"
    if negative_groups is not None and negative_groups < MIN_NEGATIVE_GROUPS:
        return f"not estimable with negatives from {negative_groups} groups (needs ≥ {MIN_NEGATIVE_GROUPS} groups)"
    return None
