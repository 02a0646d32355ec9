"""Calibration by simulation, with fixed seeds: do the 95% intervals cover the true difference 93–97% of the time,
and do two equally good models on clustered data get a verdict other than "no significant difference" at most 7%
of the time (and far more often when the groups are ignored)?

Every simulation draws from a model whose population values are known in closed form (or by one-dimensional
quadrature), runs the public ``evaluate()`` on in-memory data, and counts. With T trials the Monte Carlo standard
error of a coverage near 95% is √(0.95·0.05/T) (0.7% at T = 1000), so the 93–97% band is about ±3 SE.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

import experiments.evaluation.resampling as resampling
from experiments.evaluation import Predictions, Truth, evaluate

Phi = stats.norm.cdf
LOW, HIGH = 0.93, 0.97


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _expect(f, mean: float, sd: float) -> float:
    return integrate.quad(lambda e: f(mean + e) * stats.norm.pdf(e, 0, sd), -12 * sd, 12 * sd, limit=200)[0]


def binary_population(mu: float, sd: float, prevalence: float = 0.5) -> dict[str, float]:
    """Population metrics of p = sigmoid(μ·y + N(0, sd²)) at threshold 0.5 (i.e. logit ≥ 0)."""
    tp = prevalence * Phi(mu / sd)
    fn = prevalence * Phi(-mu / sd)
    fp = (1 - prevalence) * 0.5
    brier = prevalence * _expect(lambda s: (_sigmoid(s) - 1) ** 2, mu, sd) + (1 - prevalence) * _expect(
        lambda s: _sigmoid(s) ** 2, 0, sd
    )
    log_loss = prevalence * _expect(lambda s: np.log1p(np.exp(-s)), mu, sd) + (1 - prevalence) * _expect(
        lambda s: np.log1p(np.exp(s)), 0, sd
    )
    return {
        "eer": Phi(-mu / (2 * sd)),
        "accuracy": tp + (1 - prevalence) * 0.5,
        "f1": 2 * tp / (2 * tp + fp + fn),
        "brier_loss": brier,
        "log_loss": log_loss,
    }


def _compare(truth: Truth, **models) -> dict:
    return {who: Predictions.from_arrays(truth=truth, name=who, **kwargs) for who, kwargs in models.items()}


def _coverage(hits: dict[str, list[bool]]) -> dict[str, float]:
    return {metric: float(np.mean(values)) for metric, values in hits.items()}


def simulate_binary(
    trials: int, *, n: int, groups: int | None = None, tau: float = 0.0, seed: int = 0, mus=(1.3, 1.0), rho: float = 0.6
) -> dict[str, float]:
    """Correlated models with logits μ_m·y + a_{m,g} + e_m (a: a subject effect per model, sd τ).

    Returns the coverage of the paired differences and of the challenger's own intervals.
    """
    sd = np.sqrt(1 + tau**2)
    population = [binary_population(mu, sd) for mu in mus]
    rng = np.random.default_rng(seed)
    hits: dict[str, list[bool]] = {}
    single: dict[str, list[bool]] = {}
    group = np.repeat(np.arange(groups), n // groups) if groups else None
    for trial in range(trials):
        y = (rng.random(n) < 0.5).astype(int)
        shared = rng.normal(size=n)
        noise = (shared, rho * shared + np.sqrt(1 - rho**2) * rng.normal(size=n))
        scores = [
            _sigmoid(mu * y + (rng.normal(0, tau, groups)[group] if groups else 0) + e)
            for mu, e in zip(mus, noise, strict=True)
        ]
        truth = Truth.from_arrays(task="binary", y=y, groups=group)
        report = evaluate(
            task="binary",
            truth=truth,
            predictions=Predictions.from_arrays(truth=truth, scores=scores[0]),
            champion=Predictions.from_arrays(truth=truth, scores=scores[1]),
            seed=trial,
        )
        # The AUC estimand mixes pairs across subjects (subject effects add variance) and the few pairs
        # within one subject (they cancel); q is this trial's share of within-subject pairs.
        q = 0.0
        if groups:
            m_g = np.bincount(group, weights=y)
            n_g = np.bincount(group, weights=1 - y)
            q = float((m_g * n_g).sum() / (y.sum() * (n - y.sum())))
        auc = [(1 - q) * Phi(mu / np.sqrt(2 * sd**2)) + q * Phi(mu / np.sqrt(2)) for mu in mus]
        true = {"auc": auc[0] - auc[1]} | {k: population[0][k] - population[1][k] for k in population[0]}
        for metric, value in true.items():
            entry = report["comparisons"][metric]
            hits.setdefault(metric, []).append(entry["ci_low"] <= value <= entry["ci_high"])
        for metric, value in ({"auc": auc[0]} | population[0]).items():
            entry = report["metrics"][metric]
            single.setdefault(metric, []).append(entry["ci_low"] <= value <= entry["ci_high"])
    return _coverage(hits), _coverage(single)


def test_binary_intervals_cover_the_true_difference():
    paired, single = simulate_binary(1000, n=1000, seed=1)
    assert set(paired) == set(single) == {"auc", "eer", "accuracy", "f1", "brier_loss", "log_loss"}
    for metric, value in (paired | {f"{m} (one model)": v for m, v in single.items()}).items():
        assert LOW <= value <= HIGH, (metric, value)


def test_grouped_binary_intervals_cover_the_true_difference():
    paired, single = simulate_binary(1000, n=1200, groups=150, tau=0.8, seed=2)
    for metric, value in (paired | {f"{m} (one model)": v for m, v in single.items()}).items():
        assert LOW <= value <= HIGH, (metric, value)


def test_bootstrap_over_random_buckets_covers_the_true_difference(monkeypatch):
    """Without groups, large data is resampled in random buckets of rows; force 200 buckets of 10 rows.

    F1 is bootstrapped (over the buckets); the EER's interval is analytic and must not care."""
    monkeypatch.setattr(resampling, "MAX_UNITS", 200)
    paired, single = simulate_binary(500, n=2000, seed=3)
    for metric in ("f1", "eer"):
        assert LOW <= paired[metric] <= HIGH, paired
        assert LOW <= single[metric] <= HIGH, single


def test_regression_intervals_cover_the_true_difference(monkeypatch):
    """MAE by paired t; RMSE and R² by the bucketed bootstrap (300 buckets of 10 rows)."""
    monkeypatch.setattr(resampling, "MAX_UNITS", 300)
    rng = np.random.default_rng(4)
    n, sd_y, sds, rho = 3000, 2.0, (1.0, 1.1), 0.5
    true = {
        "mae": (sds[0] - sds[1]) * np.sqrt(2 / np.pi),
        "rmse": sds[0] - sds[1],
        "r2": (sds[1] ** 2 - sds[0] ** 2) / sd_y**2,
    }
    hits: dict[str, list[bool]] = {}
    for trial in range(500):
        y = rng.normal(10, sd_y, n)
        shared = rng.normal(size=n)
        errors = (sds[0] * shared, sds[1] * (rho * shared + np.sqrt(1 - rho**2) * rng.normal(size=n)))
        truth = Truth.from_arrays(task="regression", y=y)
        report = evaluate(
            task="regression",
            truth=truth,
            predictions=Predictions.from_arrays(truth=truth, values=y + errors[0]),
            champion=Predictions.from_arrays(truth=truth, values=y + errors[1]),
            seed=trial,
        )
        assert report["resampling"]["units"] == "random buckets of rows"
        for metric, value in true.items():
            entry = report["comparisons"][metric]
            hits.setdefault(metric, []).append(entry["ci_low"] <= value <= entry["ci_high"])
    for metric, value in _coverage(hits).items():
        assert LOW <= value <= HIGH, (metric, value)


def test_multiclass_intervals_cover_the_true_difference():
    """Accuracy (Newcombe), macro-F1 and balanced accuracy (contingency-table bootstrap) on 4 imbalanced classes."""
    rng = np.random.default_rng(5)
    prior = np.array([0.4, 0.3, 0.2, 0.1])
    right = {"a": np.array([0.8, 0.7, 0.6, 0.5]), "b": np.array([0.75, 0.7, 0.55, 0.4])}
    k = len(prior)

    def population(p):
        # Wrong answers go uniformly to the other classes.
        predicted = prior * p + np.array(
            [sum(prior[j] * (1 - p[j]) / (k - 1) for j in range(k) if j != c) for c in range(k)]
        )
        f1 = 2 * prior * p / (prior + predicted)
        return {"accuracy": float(prior @ p), "macro_f1": float(f1.mean()), "balanced_accuracy": float(p.mean())}

    true = {
        m: population(right["a"])[m] - population(right["b"])[m] for m in ("accuracy", "macro_f1", "balanced_accuracy")
    }
    n = 1000
    hits: dict[str, list[bool]] = {}
    for trial in range(500):
        y = rng.choice(k, n, p=prior)
        # Partly shared luck: the models tend to fail on the same rows, but not always.
        u = rng.random(n)
        luck = {"a": u, "b": np.where(rng.random(n) < 0.7, u, rng.random(n))}
        labels = {}
        for who, p in right.items():
            wrong = (y + rng.integers(1, k, n)) % k
            labels[who] = np.where(luck[who] < p[y], y, wrong)
        truth = Truth.from_arrays(task="multiclass", y=np.array(list("wxyz"))[y])
        report = evaluate(
            task="multiclass",
            truth=truth,
            predictions=Predictions.from_arrays(truth=truth, labels=labels["a"]),
            champion=Predictions.from_arrays(truth=truth, labels=labels["b"]),
            seed=trial,
        )
        for metric, value in true.items():
            entry = report["comparisons"][metric]
            hits.setdefault(metric, []).append(entry["ci_low"] <= value <= entry["ci_high"])
    for metric, value in _coverage(hits).items():
        assert LOW <= value <= HIGH, (metric, value)


def _equal_models_on_clustered_data(trials: int, *, use_groups: bool, seed: int) -> dict[str, float]:
    """100 subjects × 40 rows; each model is better on some subjects than others (a per-model subject effect on
    the separation and on the level), but the two models are equally good overall: the true difference is 0."""
    rng = np.random.default_rng(seed)
    n_groups, per = 100, 40
    group = np.repeat(np.arange(n_groups), per)
    called: dict[str, int] = {}
    for trial in range(trials):
        y = (rng.random(n_groups * per) < 0.5).astype(int)
        scores = [
            _sigmoid(
                (1 + rng.normal(0, 1, n_groups)[group]) * y
                + rng.normal(0, 1, n_groups)[group]
                + rng.normal(size=len(y))
            )
            for _ in range(2)
        ]
        truth = Truth.from_arrays(task="binary", y=y, groups=group if use_groups else None)
        report = evaluate(
            task="binary",
            truth=truth,
            predictions=Predictions.from_arrays(truth=truth, scores=scores[0]),
            champion=Predictions.from_arrays(truth=truth, scores=scores[1]),
            seed=trial,
        )
        assert report["comparison"]["primary"] == "auc"
        for metric, entry in report["comparisons"].items():
            called[metric] = called.get(metric, 0) + (entry["verdict"] in ("better", "worse"))
    return {metric: count / trials for metric, count in called.items()}


def test_equal_models_on_clustered_data_are_rarely_called_different():
    rates = _equal_models_on_clustered_data(500, use_groups=True, seed=6)
    assert set(rates) == {
        "auc",
        "eer",
        "frr_at_far_1e-2",
        "frr_at_far_1e-3",
        "accuracy",
        "f1",
        "brier_loss",
        "log_loss",
    }
    for metric, rate in rates.items():
        assert rate <= 0.07, (metric, rate)


def test_buckets_of_whole_groups_keep_the_false_positive_rate(monkeypatch):
    """With more groups than resampling units, random buckets of whole groups are resampled (here 50 buckets of two
    subjects) and the bootstrap verdicts still hold their level."""
    monkeypatch.setattr(resampling, "MAX_UNITS", 50)
    rates = _equal_models_on_clustered_data(500, use_groups=True, seed=16)
    for metric, rate in rates.items():
        assert rate <= 0.07, (metric, rate)


def test_ignoring_the_groups_would_call_equal_models_different():
    """The same simulation with the group column left out: plain DeLong, McNemar, t and row bootstrap fail."""
    rates = _equal_models_on_clustered_data(120, use_groups=False, seed=6)
    for metric in ("auc", "eer", "accuracy", "f1", "brier_loss", "log_loss"):
        assert rates[metric] > 0.2, (metric, rates[metric])


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_same_seed_same_report_other_seed_other_intervals(task):
    rng = np.random.default_rng(7)
    n = 500
    if task == "binary":
        y = (rng.random(n) < 0.4).astype(int)
        truth = Truth.from_arrays(task=task, y=y, groups=rng.integers(0, 50, n))
        models = _compare(
            truth, challenger={"scores": y + rng.normal(size=n)}, champion={"scores": y + rng.normal(size=n)}
        )
        metric = "f1"  # bootstrapped (the EER's interval is analytic: the same for every seed)
    else:
        y = rng.normal(size=n)
        truth = Truth.from_arrays(task=task, y=y)
        models = _compare(
            truth, challenger={"values": y + rng.normal(size=n)}, champion={"values": y + rng.normal(size=n)}
        )
        metric = "rmse"
    runs = [
        evaluate(task=task, truth=truth, predictions=models["challenger"], champion=models["champion"], seed=s)
        for s in (11, 11, 12)
    ]
    assert runs[0] == runs[1]
    assert runs[0]["comparisons"][metric]["ci_low"] != runs[2]["comparisons"][metric]["ci_low"]
    assert runs[0]["metrics"][metric]["value"] == runs[2]["metrics"][metric]["value"]
    if task == "binary":
        assert runs[0]["comparisons"]["eer"] == runs[2]["comparisons"]["eer"]
    else:
        assert runs[0]["metrics"]["rmse"]["ci_high"] != runs[2]["metrics"]["rmse"]["ci_high"]
