"""Point values equal scikit-learn's to 1e-9, on many random cases with ties and imbalance, read from CSV."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from experiments.evaluation import METRICS, evaluate
from tests.experiments.evaluation.helpers import write_binary, write_multiclass, write_regression

TOL = 1e-9


def slow_roc(scores: np.ndarray, y: np.ndarray) -> tuple[list[float], list[float]]:
    """(FAR, FRR) from the definition: origin, then every distinct score as threshold, descending."""
    far, frr = [0.0], [1.0]
    for t in sorted(set(scores.tolist()), reverse=True):
        far.append(float(np.mean(scores[y == 0] >= t)))
        frr.append(float(np.mean(scores[y == 1] < t)))
    return far, frr


def slow_eer(scores, y) -> float:
    far, frr = slow_roc(scores, y)
    for j in range(1, len(far)):
        gap = far[j] - frr[j]
        if gap >= 0:
            if gap == 0:
                return far[j]
            before = far[j - 1] - frr[j - 1]
            w = before / (before - gap)
            return far[j - 1] + w * (far[j] - far[j - 1])
    raise AssertionError("the ROC always ends at FAR 1, FRR 0")


def slow_frr_at_far(scores, y, target) -> float:
    far, frr = slow_roc(scores, y)
    return min(r for f, r in zip(far, frr, strict=True) if f <= target)


def _random_binary(rng, n):
    prevalence = rng.choice([0.02, 0.1, 0.5, 0.9, 0.98])
    y = (rng.random(n) < prevalence).astype(int)
    y[:2] = [0, 1]
    decimals = rng.choice([1, 2, 6])  # few decimals: many ties
    signal = rng.uniform(0, 3)
    logit = signal * (y - 0.5) + rng.normal(size=n)
    return y, np.round(1 / (1 + np.exp(-logit)), decimals)


@pytest.mark.parametrize("seed", range(12))
def test_binary_point_values_match_scikit_learn(seed, tmp_path):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 1500))
    y, challenger = _random_binary(rng, n)
    champion = np.round(np.clip(challenger + rng.normal(0, 0.2, n), 0, 1), int(rng.choice([1, 3])))
    threshold = float(rng.choice([0.5, 0.3, 0.71]))
    paths = write_binary(tmp_path, y, {"challenger": challenger, "champion": champion})
    report = evaluate(
        task="binary",
        truth=paths["truth"],
        predictions=paths["challenger"],
        champion=paths["champion"],
        threshold=threshold,
        n_resamples=20,
        seed=seed,
    )
    for values, scores in ((report["metrics"], challenger), (report["champion_metrics"], champion)):
        decision = scores >= threshold
        expected = {
            "auc": skm.roc_auc_score(y, scores),
            "accuracy": skm.accuracy_score(y, decision),
            "f1": skm.f1_score(y, decision),
            "brier_loss": skm.brier_score_loss(y, scores),
            "log_loss": skm.log_loss(y, scores),
            "eer": slow_eer(scores, y),
            "frr_at_far_1e-2": slow_frr_at_far(scores, y, 1e-2),
            "frr_at_far_1e-3": slow_frr_at_far(scores, y, 1e-3),
        }
        assert list(values) == list(METRICS["binary"])
        for metric, value in expected.items():
            assert values[metric]["value"] == pytest.approx(value, abs=TOL, rel=TOL), metric
    for metric, entry in report["comparisons"].items():
        assert entry["delta"] == pytest.approx(
            report["metrics"][metric]["value"] - report["champion_metrics"][metric]["value"], abs=1e-12
        )


def test_scores_that_are_not_probabilities_get_no_probability_losses(tmp_path):
    y = np.array([0, 1, 0, 1, 1, 0])
    scores = np.array([-2.0, 3.5, 0.1, 0.7, 12.0, -0.5])
    paths = write_binary(tmp_path, y, {"m": scores})
    report = evaluate(task="binary", truth=paths["truth"], predictions=paths["m"], n_resamples=10)
    assert "log_loss" not in report["metrics"]
    assert "brier_loss" not in report["metrics"]
    assert report["metrics"]["auc"]["value"] == pytest.approx(skm.roc_auc_score(y, scores), abs=TOL)


@pytest.mark.parametrize("seed", range(8))
def test_multiclass_point_values_match_scikit_learn(seed, tmp_path):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(40, 1500))
    names = np.array(["ant", "bee", "cat", "Dog", "eel", "z10", "z9"][: int(rng.integers(2, 8))])
    weights = rng.dirichlet(np.ones(len(names)) * 0.7)  # imbalanced classes
    y = names[rng.choice(len(names), n, p=weights)]
    y[: len(names)] = names  # every class occurs
    models = {}
    for who in ("challenger", "champion"):
        logits = rng.normal(size=(n, len(names))) * 1.5
        logits[np.arange(n), np.searchsorted(np.sort(names), y)] += rng.uniform(0, 2)
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        sorted_names = np.sort(names)
        labels = sorted_names[proba.argmax(axis=1)]
        models[who] = (labels, proba)
    paths = write_multiclass(tmp_path, y, models)
    report = evaluate(
        task="multiclass",
        truth=paths["truth"],
        predictions=paths["challenger"],
        champion=paths["champion"],
        n_resamples=20,
    )
    classes = sorted(names.tolist())
    for values, (labels, proba) in (
        (report["metrics"], models["challenger"]),
        (report["champion_metrics"], models["champion"]),
    ):
        expected = {
            "accuracy": skm.accuracy_score(y, labels),
            "macro_f1": skm.f1_score(y, labels, average="macro"),
            "balanced_accuracy": skm.balanced_accuracy_score(y, labels),
            "log_loss": skm.log_loss(y, proba, labels=classes),
        }
        for metric, value in expected.items():
            assert values[metric]["value"] == pytest.approx(value, abs=TOL, rel=TOL), metric


@pytest.mark.parametrize("seed", range(6))
def test_regression_point_values_match_scikit_learn(seed, tmp_path):
    rng = np.random.default_rng(200 + seed)
    n = int(rng.integers(10, 2000))
    y = rng.normal(1e4 if seed % 2 else 0, rng.uniform(0.1, 10), n)  # a large mean tests cancellation in R²
    models = {who: y + rng.normal(0, rng.uniform(0.05, 5), n) for who in ("challenger", "champion")}
    paths = write_regression(tmp_path, y, models)
    report = evaluate(
        task="regression",
        truth=paths["truth"],
        predictions=paths["challenger"],
        champion=paths["champion"],
        n_resamples=20,
    )
    for values, predicted in (
        (report["metrics"], models["challenger"]),
        (report["champion_metrics"], models["champion"]),
    ):
        expected = {
            "mae": skm.mean_absolute_error(y, predicted),
            "rmse": skm.root_mean_squared_error(y, predicted),
            "r2": skm.r2_score(y, predicted),
        }
        for metric, value in expected.items():
            assert values[metric]["value"] == pytest.approx(value, abs=TOL, rel=TOL), metric


def test_a_missing_binary_row_is_the_worst_answer(tmp_path):
    rng = np.random.default_rng(5)
    n = 300
    y, scores = _random_binary(rng, n)
    present = rng.random(n) > 0.2
    present[:2] = True
    paths = write_binary(tmp_path, y, {"m": scores}, present={"m": present})
    report = evaluate(task="binary", truth=paths["truth"], predictions=paths["m"], n_resamples=10)
    # Worst answers: a missing positive scores below everything (and below the threshold), a missing negative
    # above everything; for the probability losses they get probability 0 and 1.
    worst = np.where(present, scores, np.where(y == 1, -1.0, 2.0))
    worst_p = np.where(present, scores, 1 - y)
    assert report["metrics"]["auc"]["value"] == pytest.approx(skm.roc_auc_score(y, worst), abs=TOL)
    assert report["metrics"]["eer"]["value"] == pytest.approx(slow_eer(worst, y), abs=TOL)
    assert report["metrics"]["accuracy"]["value"] == pytest.approx(skm.accuracy_score(y, worst >= 0.5), abs=TOL)
    assert report["metrics"]["f1"]["value"] == pytest.approx(skm.f1_score(y, worst >= 0.5), abs=TOL)
    assert report["metrics"]["brier_loss"]["value"] == pytest.approx(skm.brier_score_loss(y, worst_p), abs=TOL)
    assert report["metrics"]["log_loss"]["value"] == pytest.approx(skm.log_loss(y, worst_p), abs=TOL)
    assert report["metrics"]["log_loss"]["value"] > skm.log_loss(y[present], scores[present])
    missing = int((~present).sum())
    assert report["coverage"]["challenger"] == {
        "rows": n - missing,
        "covered": n - missing,
        "missing": missing,
        "fraction": pytest.approx((n - missing) / n),
    }


def test_skipping_hard_rows_does_not_win(tmp_path):
    rng = np.random.default_rng(6)
    n = 400
    y = (rng.random(n) < 0.5).astype(int)
    scores = np.clip(0.5 + (y - 0.5) * 0.6 + rng.normal(0, 0.25, n), 0, 1)
    hard = np.abs(scores - y) > 0.5
    paths = write_binary(tmp_path, y, {"all": scores, "skipper": scores}, present={"skipper": ~hard})
    report = evaluate(
        task="binary", truth=paths["truth"], predictions=paths["skipper"], champion=paths["all"], n_resamples=50
    )
    for metric in ("auc", "accuracy", "f1"):
        assert report["comparisons"][metric]["delta"] <= 0, metric
    for metric in ("eer", "brier_loss", "log_loss"):
        assert report["comparisons"][metric]["delta"] >= 0, metric


def test_a_missing_multiclass_row_counts_as_wrong(tmp_path):
    y = np.array(["a", "b", "c", "a", "b", "c", "a", "a"])
    labels = np.array(["a", "b", "c", "a", "c", "c", "b", "a"])
    proba = np.eye(3)[np.searchsorted(["a", "b", "c"], labels)] * 0.8 + 0.2 / 3
    paths = write_multiclass(tmp_path, y, {"m": (labels, proba)})
    lines = paths["m"].read_text().splitlines()
    paths["m"].write_text("\n".join(lines[:1] + lines[2:]) + "\n")  # drop row 0 (a correct "a")
    report = evaluate(task="multiclass", truth=paths["truth"], predictions=paths["m"], n_resamples=10)
    wrong = labels.copy()
    wrong[0] = "missing"
    assert report["metrics"]["accuracy"]["value"] == pytest.approx(skm.accuracy_score(y, wrong))
    assert report["metrics"]["macro_f1"]["value"] == pytest.approx(
        skm.f1_score(y, wrong, average="macro", labels=["a", "b", "c"])
    )
    assert report["metrics"]["balanced_accuracy"]["value"] == pytest.approx(np.mean([2 / 4, 1 / 2, 2 / 2]))
    worst = proba.copy()
    worst[0] = [0.0, 0.5, 0.5]
    assert report["metrics"]["log_loss"]["value"] == pytest.approx(skm.log_loss(y, worst, labels=["a", "b", "c"]))
