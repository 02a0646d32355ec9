"""Metric names, their direction, and point values computed the way scikit-learn computes them.

Names are the contract keys. ``*_score``-like metrics (auc, accuracy, f1, macro_f1, balanced_accuracy, r2)
are better when higher; error rates and losses (eer, frr_at_far_*, brier_loss, log_loss, mae, rmse) when lower.
Functions of counts accept leading resample dimensions, so the bootstrap uses the same code as the point value.
"""

from __future__ import annotations

import numpy as np

METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("auc", "eer", "frr_at_far_1e-2", "frr_at_far_1e-3", "accuracy", "f1", "brier_loss", "log_loss"),
    "multiclass": ("accuracy", "macro_f1", "balanced_accuracy", "log_loss"),
    "regression": ("mae", "rmse", "r2"),
}
HIGHER_IS_BETTER = frozenset({"auc", "accuracy", "f1", "macro_f1", "balanced_accuracy", "r2"})
# The primary metric when a benchmark names none: ranking quality for binary scores (threshold-free),
# plain accuracy for multiclass labels, RMSE for regression (the error in the label's own unit).
DEFAULT_PRIMARY = {"binary": "auc", "multiclass": "accuracy", "regression": "rmse"}
PROBABILITY_METRICS = frozenset({"brier_loss", "log_loss"})
EPS = float(np.finfo(np.float64).eps)


def higher_is_better(metric: str) -> bool:
    return metric in HIGHER_IS_BETTER


def check_metric(task: str, metric: str) -> None:
    if metric not in METRICS[task]:
        raise ValueError(f"unknown {task} metric {metric!r}; choose one of {', '.join(METRICS[task])}")


# --- per-row losses ---------------------------------------------------------------------------
def binary_log_losses(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-row log loss as scikit-learn computes it: columns [1 − p, p], each clipped to [ε, 1 − ε]."""
    chosen = np.where(y == 1, p, 1.0 - p)
    return -np.log(np.clip(chosen, EPS, 1 - EPS))


def brier_losses(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    return (p - y) ** 2


def multiclass_log_losses(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Per-row log loss: −log of the true class's probability clipped to [ε, 1 − ε] (0 for a missing row)."""
    chosen = proba[np.arange(len(y)), y]
    return -np.log(np.clip(np.nan_to_num(chosen, nan=0.0), EPS, 1 - EPS))


# --- functions of counts ------------------------------------------------------------------------
def f1_from_counts(tp, fp, fn):
    """F1 = 2·tp / (2·tp + fp + fn); 0 when undefined (scikit-learn's zero_division default)."""
    tp, fp, fn = (np.asarray(v, dtype=np.float64) for v in (tp, fp, fn))
    denom = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0)


def confusion_scores(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Macro F1 and balanced accuracy from confusion counts ``(..., K, K + 1)``.

    Rows are true classes, columns predicted classes plus a last column for "no prediction" (always
    wrong, never a prediction of any class). As scikit-learn: macro F1 averages over classes that occur
    in the truth or the predictions; balanced accuracy averages recall over classes in the truth.
    """
    k = confusion.shape[-2]
    tp = np.diagonal(confusion[..., :k], axis1=-2, axis2=-1)
    true = confusion.sum(axis=-1)
    predicted = confusion[..., :k].sum(axis=-2)
    denom = true + predicted
    seen = denom > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(seen, 2 * tp / np.where(seen, denom, 1), 0.0)
        macro_f1 = f1.sum(axis=-1) / seen.sum(axis=-1)
        present = true > 0
        recall = np.where(present, tp / np.where(present, true, 1), 0.0)
        balanced = recall.sum(axis=-1) / present.sum(axis=-1)
    return macro_f1, balanced


def regression_scores(n, sum_y, sum_y2, sse) -> tuple[np.ndarray, np.ndarray]:
    """RMSE and R² from sums (labels already centred, so Σy² − (Σy)²/n does not cancel badly)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rmse = np.sqrt(sse / n)
        r2 = 1.0 - sse / (sum_y2 - sum_y * sum_y / n)
    return rmse, r2
