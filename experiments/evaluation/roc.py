"""Ranking a binary model's scores once, and everything that follows from that one sort.

One stable argsort per model gives the tie runs ("distinct thresholds"); from the per-run class
counts come the DeLong placements, the AUC, the full ROC, the EER and FRR at a fixed FAR. All counts
are int64, all shares float64.

Placements are Sun & Xu's (2014) midrank formula without its second and third sort: a positive's
placement (midrank among all rows − midrank among positives) / n_neg equals (negatives in lower runs
+ ½ · negatives in its own run) / n_neg, which the per-run counts give directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

FAR_TARGETS = {"frr_at_far_1e-2": 1e-2, "frr_at_far_1e-3": 1e-3}


def impute_worst(scores: np.ndarray, y: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Scores with missing rows at their worst rank: a missing positive below, a missing negative above all.

    ±inf also lands on the wrong side of every decision threshold (a score ≥ the threshold is positive).
    """
    if present.all():
        return scores
    return np.where(present, scores, np.where(y == 1, -np.inf, np.inf))


@dataclass(eq=False)
class Ranking:
    """A model's rows sorted by score, with tie runs and per-run class counts.

    ``order`` sorts scores ascending (stable); run ``j`` covers ``order[starts[j]:starts[j + 1]]``.
    """

    scores: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    order: np.ndarray = field(repr=False)
    run_of_sorted: np.ndarray = field(repr=False)
    starts: np.ndarray = field(repr=False)
    run_neg: np.ndarray = field(repr=False)
    run_pos: np.ndarray = field(repr=False)

    @property
    def n_pos(self) -> int:
        return int(self.run_pos.sum())

    @property
    def n_neg(self) -> int:
        return int(self.run_neg.sum())

    @property
    def n_runs(self) -> int:
        return len(self.starts)


def rank(scores: np.ndarray, y: np.ndarray) -> Ranking:
    order = np.argsort(scores, kind="stable")
    ordered = scores[order]
    new_run = np.empty(len(ordered), dtype=bool)
    new_run[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new_run[1:])
    starts = np.flatnonzero(new_run)
    run_of_sorted = np.cumsum(new_run, dtype=np.int64) - 1
    pos_sorted = y[order].astype(np.int64)
    run_pos = np.add.reduceat(pos_sorted, starts)
    run_size = np.diff(np.append(starts, len(ordered)))
    return Ranking(
        scores=scores,
        y=y,
        order=order,
        run_of_sorted=run_of_sorted,
        starts=starts,
        run_neg=run_size - run_pos,
        run_pos=run_pos,
    )


# --- DeLong placements ----------------------------------------------------------------------
def placements(ranking: Ranking) -> np.ndarray:
    """Per-row DeLong placement, in row order.

    A positive's placement is the share of negatives it outscores (ties count ½); a negative's is the
    share of positives that outscore it. The AUC is the mean placement over either class.
    """
    neg_below = np.cumsum(ranking.run_neg) - ranking.run_neg
    pos_below = np.cumsum(ranking.run_pos) - ranking.run_pos
    n_pos, n_neg = ranking.n_pos, ranking.n_neg
    pos_value = (neg_below + 0.5 * ranking.run_neg) / n_neg
    neg_value = (n_pos - pos_below - ranking.run_pos + 0.5 * ranking.run_pos) / n_pos
    run = np.empty(len(ranking.order), dtype=np.int64)
    run[ranking.order] = ranking.run_of_sorted
    return np.where(ranking.y == 1, pos_value[run], neg_value[run])


def auc_from_placements(values: np.ndarray, y: np.ndarray) -> float:
    return float(values[y == 1].mean())


# --- the full ROC -----------------------------------------------------------------------------
def roc_points(ranking: Ranking) -> tuple[np.ndarray, np.ndarray]:
    """(FAR, FRR) at every distinct score taken as threshold, thresholds descending, after the origin (0, 1).

    FAR = share of negatives scoring ≥ t, FRR = share of positives scoring < t.
    """
    neg = np.concatenate(([0], np.cumsum(ranking.run_neg[::-1])))
    pos = np.concatenate(([0], np.cumsum(ranking.run_pos[::-1])))
    return neg / ranking.n_neg, 1.0 - pos / ranking.n_pos


def eer_from_points(far: np.ndarray, frr: np.ndarray) -> float:
    """Equal error rate by the convention in EVALUATION.md (first point with FAR − FRR ≥ 0, interpolated)."""
    gap = far - frr
    j = int(np.argmax(gap >= 0))
    if gap[j] == 0 or j == 0:
        return float(far[j])
    w = gap[j - 1] / (gap[j - 1] - gap[j])
    return float(far[j - 1] + w * (far[j] - far[j - 1]))


def frr_at_far_from_points(far: np.ndarray, frr: np.ndarray, target: float) -> float:
    """FRR at the lowest threshold whose FAR is still ≤ ``target`` (no interpolation)."""
    j = int(np.searchsorted(far, target, side="right")) - 1
    return float(frr[j])


# --- points for charts ---------------------------------------------------------------------------
def downsample_curve(far: np.ndarray, frr: np.ndarray, *, n_linear: int = 100, n_log: int = 100) -> dict:
    """At most ``n_linear + n_log + 2`` points: even along the ROC's length, and even in log FAR (for DET charts)."""
    tpr = 1.0 - frr
    if len(far) <= n_linear + n_log:
        keep = np.arange(len(far))
    else:
        step = np.hypot(np.diff(far), np.diff(tpr))
        length = np.concatenate(([0.0], np.cumsum(step)))
        along = np.searchsorted(length, np.linspace(0, length[-1], n_linear))
        levels = np.logspace(-6, 0, n_log)
        low_far = np.searchsorted(far, levels)
        keep = np.unique(np.clip(np.concatenate((along, low_far, [0, len(far) - 1])), 0, len(far) - 1))
    return {"far": far[keep].tolist(), "frr": frr[keep].tolist()}


# --- the EER's linearisation (its standard error) ------------------------------------------------------
def eer_influence(ranking: Ranking, far: np.ndarray, frr: np.ndarray) -> np.ndarray:
    """Per-row terms ``u`` (row order) with ``EER̂ − EER ≈ Σ u``: the EER's influence function.

    The EER is where the empirical FAR (a share of negatives) crosses the empirical FRR (a share of
    positives) at a threshold ``t*``. Linearising that crossing, as the Bahadur representation does for
    a quantile (Bahadur 1966; Serfling 1980, §2.5), gives ``EER̂ − EER ≈ w (FAR̂ − FAR)(t*) +
    (1 − w)(FRR̂ − FRR)(t*)`` with ``w = f / (f + g)``, ``f`` and ``g`` the positives' and negatives'
    score densities at ``t*``. Each negative contributes ``w (1[s ≥ t*] − FAR) / n_neg``, each positive
    ``(1 − w)(1[s < t*] − FRR) / n_pos``; the terms sum to zero, and their (clustered) variance is the
    EER's. ``w`` is a nearest-neighbour density ratio (Loftsgaarden & Quesenberry 1965): the class shares
    among the ``2⌈√N⌉`` rows ranked nearest the crossing (widened to whole tie runs), each over its class
    size, with ½ added to each count so that a window holding one class does not put all the weight on the
    other.

    Unlike a bootstrap of the EER, whose resamples repeat rows and so coarsen the very steps the crossing
    is read from (its intervals covered 98–99.5% in the calibration table), this needs no resampling.
    """
    n = len(ranking.order)
    gap = far - frr
    j = max(1, int(np.argmax(gap >= 0)))  # far/frr index: runs accepted from the top
    first_run = ranking.n_runs - j  # ascending run index of the lowest accepted run
    accepted = np.empty(n, dtype=bool)
    accepted[ranking.order] = ranking.run_of_sorted >= first_run
    cut = int(ranking.starts[first_run])  # sorted position of the crossing
    half = max(10, math.ceil(math.sqrt(n)))
    # Whole tie runs only, so that the rows' order within a run (their order in the file) does not matter.
    first, last = ranking.run_of_sorted[max(0, cut - half)], ranking.run_of_sorted[min(n, cut + half) - 1]
    near_pos = float(ranking.run_pos[first : last + 1].sum()) + 0.5
    near_neg = float(ranking.run_neg[first : last + 1].sum()) + 0.5
    n_pos, n_neg = ranking.n_pos, ranking.n_neg
    f, g = near_pos / n_pos, near_neg / n_neg
    w = f / (f + g)
    positive = ranking.y == 1
    return np.where(
        positive,
        (1.0 - w) * ((~accepted) - frr[j]) / n_pos,
        w * (accepted - far[j]) / n_neg,
    )
