"""DeLong and Obuchowski from midranks (one sort) agree with slow O(m·n) reference code to 1e-12."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from experiments.evaluation import Predictions, Truth, evaluate
from experiments.evaluation.intervals import Z, auc_covariance
from experiments.evaluation.roc import placements, rank


def slow_placements(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per row: a positive's share of negatives below it, a negative's share of positives above it (ties ½)."""
    pos, neg = scores[y == 1], scores[y == 0]
    out = np.empty(len(scores))
    for i, s in enumerate(scores):
        if y[i] == 1:
            out[i] = (np.sum(s > neg) + 0.5 * np.sum(s == neg)) / len(neg)
        else:
            out[i] = (np.sum(pos > s) + 0.5 * np.sum(pos == s)) / len(pos)
    return out


def slow_delong(values: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    m, n = int(np.sum(y == 1)), int(np.sum(y == 0))
    k = len(values)
    cov = np.zeros((k, k))
    for a in range(k):
        for b in range(k):
            xa, xb = values[a][y == 1], values[b][y == 1]
            ya, yb = values[a][y == 0], values[b][y == 0]
            s10 = sum((xa[i] - xa.mean()) * (xb[i] - xb.mean()) for i in range(m)) / (m - 1)
            s01 = sum((ya[j] - ya.mean()) * (yb[j] - yb.mean()) for j in range(n)) / (n - 1)
            cov[a, b] = s10 / m + s01 / n
    return cov


def slow_obuchowski(values: list[np.ndarray], y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Obuchowski (1997): per cluster, placement sums X_i (positives) and Y_i (negatives)."""
    big_m, big_n = int(np.sum(y == 1)), int(np.sum(y == 0))
    clusters = sorted(set(groups.tolist()))
    big_i = len(clusters)
    k = len(values)
    z = np.zeros((k, big_i))
    for a in range(k):
        theta = values[a][y == 1].mean()
        for c, g in enumerate(clusters):
            rows = groups == g
            x_i = values[a][rows & (y == 1)].sum()
            y_i = values[a][rows & (y == 0)].sum()
            m_i, n_i = np.sum(rows & (y == 1)), np.sum(rows & (y == 0))
            z[a, c] = (x_i - m_i * theta) / big_m + (y_i - n_i * theta) / big_n
    cov = np.zeros((k, k))
    for a in range(k):
        for b in range(k):
            cov[a, b] = big_i / (big_i - 1) * sum(z[a, c] * z[b, c] for c in range(big_i))
    return cov


def _case(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 400))
    y = (rng.random(n) < rng.uniform(0.1, 0.9)).astype(np.int8)
    y[:2] = [0, 1]
    groups = rng.integers(0, int(rng.integers(3, 40)), n)
    decimals = int(rng.choice([0, 1, 3, 8]))
    models = [np.round(rng.normal(size=n) + rng.uniform(0, 2) * y, decimals) for _ in range(2)]
    return y, groups, models


@pytest.mark.parametrize("seed", range(25))
def test_placements_match_the_pairwise_definition(seed):
    y, _, models = _case(seed)
    for scores in models:
        fast = placements(rank(scores, y))
        np.testing.assert_allclose(fast, slow_placements(scores, y), rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(25))
def test_delong_covariance_matches_slow_reference(seed):
    y, _, models = _case(seed)
    values = [placements(rank(s, y)) for s in models]
    theta, cov = auc_covariance(np.stack(values), y)
    np.testing.assert_allclose(theta, [v[y == 1].mean() for v in values], rtol=0, atol=1e-12)
    np.testing.assert_allclose(cov, slow_delong(values, y), rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(25))
def test_clustered_covariance_matches_slow_obuchowski(seed):
    y, groups, models = _case(seed)
    values = [placements(rank(s, y)) for s in models]
    used = np.unique(groups, return_inverse=True)[1]
    _, cov = auc_covariance(np.stack(values), y, used, int(used.max()) + 1)
    np.testing.assert_allclose(cov, slow_obuchowski(values, y, groups), rtol=0, atol=1e-12)


@pytest.mark.parametrize(("seed", "grouped"), [(s, g) for s in range(6) for g in (False, True)])
def test_evaluate_reports_the_delong_test(seed, grouped):
    """The public report's AUC interval and paired test are the reference formulas, grouped or not; with groups
    the reference distribution is Student's t on G − 1 degrees of freedom."""
    y, groups, (challenger, champion) = _case(seed)
    truth = Truth.from_arrays(task="binary", y=y, groups=groups if grouped else None)
    report = evaluate(
        task="binary",
        truth=truth,
        predictions=Predictions.from_arrays(truth=truth, scores=challenger),
        champion=Predictions.from_arrays(truth=truth, scores=champion),
        n_resamples=5,
    )
    values = [slow_placements(s, y) for s in (challenger, champion)]
    cov = slow_obuchowski(values, y, groups) if grouped else slow_delong(values, y)
    theta = [v[y == 1].mean() for v in values]
    auc = report["metrics"]["auc"]
    sd = np.sqrt(cov[0, 0])
    df = len(np.unique(groups)) - 1
    crit = stats.t.ppf(0.975, df) if grouped else Z
    assert auc["value"] == pytest.approx(theta[0], abs=1e-12)
    assert auc["ci_low"] == pytest.approx(max(0.0, theta[0] - crit * sd), abs=1e-12)
    assert auc["ci_high"] == pytest.approx(min(1.0, theta[0] + crit * sd), abs=1e-12)
    delta = theta[0] - theta[1]
    sd = np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    compared = report["comparison"]
    assert compared["primary"] == "auc"
    assert compared["delta"] == pytest.approx(delta, abs=1e-12)
    assert compared["ci_low"] == pytest.approx(delta - crit * sd, abs=1e-12)
    assert compared["ci_high"] == pytest.approx(delta + crit * sd, abs=1e-12)
    tail = stats.t.sf(abs(delta) / sd, df) if grouped else stats.norm.sf(abs(delta) / sd)
    assert compared["p_value"] == pytest.approx(2 * tail, abs=1e-12)
    assert ("Obuchowski" in compared["method"]) is grouped


def test_many_ties_and_large_counts_keep_full_precision():
    """Float64 shares and int64 counts: 3M rows with 3 distinct scores still give the exact rational AUC."""
    n = 3_000_000
    y = np.zeros(n, dtype=np.int8)
    y[: n // 3] = 1
    scores = np.zeros(n)
    scores[: n // 6] = 2.0  # half the positives on top
    scores[n // 6 : n // 3] = 1.0  # the other half tied with a quarter of the negatives
    scores[n // 3 : n // 3 + n // 2 // 2 * 1] = 1.0
    r = rank(scores, y)
    auc = placements(r)[y == 1].mean()
    n_pos, n_neg = n // 3, n - n // 3
    tied_neg = n // 2 // 2
    expected = (n // 6 * n_neg + (n // 3 - n // 6) * ((n_neg - tied_neg) + 0.5 * tied_neg)) / (n_pos * n_neg)
    assert auc == pytest.approx(expected, abs=1e-13)
