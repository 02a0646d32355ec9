"""The report the workers store and the pages draw: its shape, progress, defaults and degenerate inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from experiments.evaluation import (
    DEFAULT_PRIMARY,
    METRICS,
    EvaluationInputError,
    Predictions,
    Truth,
    evaluate,
)
from tests.experiments.evaluation.helpers import write_binary

CONTRACT_COMPARISON = {
    "primary",
    "challenger",
    "champion",
    "delta",
    "ci_low",
    "ci_high",
    "p_value",
    "method",
    "verdict",
    "reason",
}


def _binary(n=800, seed=0, groups=None):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(int)
    truth = Truth.from_arrays(task="binary", y=y, groups=None if groups is None else rng.integers(0, groups, n))
    strong = 1 / (1 + np.exp(-(2.5 * (y - 0.5) + rng.normal(size=n))))
    weak = 1 / (1 + np.exp(-(1.0 * (y - 0.5) + rng.normal(size=n))))
    return truth, Predictions.from_arrays(truth=truth, scores=strong), Predictions.from_arrays(truth=truth, scores=weak)


def test_the_report_has_the_contract_keys_and_is_strict_json(tmp_path):
    rng = np.random.default_rng(1)
    y = (rng.random(500) < 0.5).astype(int)
    paths = write_binary(tmp_path, y, {"a": rng.random(500), "b": rng.random(500)}, groups=rng.integers(0, 30, 500))
    report = evaluate(task="binary", truth=paths["truth"], predictions=paths["a"], champion=paths["b"], n_resamples=100)
    json.dumps(report, allow_nan=False)
    assert {"task", "n_rows", "n_groups", "metrics", "comparison"} <= set(report)
    assert report["task"] == "binary"
    assert report["n_rows"] == 500
    assert report["n_groups"] == 30
    assert set(report["comparison"]) == CONTRACT_COMPARISON
    assert report["comparison"]["primary"] == "auc"
    assert report["comparison"]["challenger"] == report["metrics"]["auc"]["value"]
    assert report["comparison"]["champion"] == report["champion_metrics"]["auc"]["value"]
    assert report["comparison"]["verdict"] in {"better", "worse", "no_significant_difference"}
    for values in (report["metrics"], report["champion_metrics"]):
        assert list(values) == list(METRICS["binary"])
        for metric, entry in values.items():
            if metric.startswith("frr_at_far_"):  # 500 rows: far too few negatives
                assert set(entry) == {"value", "ci_low", "ci_high", "reason"}
                assert entry["ci_low"] is None and entry["reason"].startswith("not estimable with ")
                continue
            assert set(entry) == {"value", "ci_low", "ci_high"}
            assert entry["ci_low"] <= entry["value"] <= entry["ci_high"]
    assert list(report["comparisons"]) == list(METRICS["binary"])
    for metric, entry in report["comparisons"].items():
        assert set(entry) == CONTRACT_COMPARISON - {"primary"} | {"metric"}
        assert entry["metric"] == metric
        if metric.startswith("frr_at_far_"):
            assert entry["verdict"] == "insufficient_data"
            continue
        assert entry["ci_low"] <= entry["delta"] <= entry["ci_high"] or metric in ("eer", "f1")
    assert report["coverage"]["challenger"] == {"rows": 500, "covered": 500, "missing": 0, "fraction": 1.0}
    assert report["resampling"] == {"units": "groups", "n_units": 30, "n_resamples": 100}
    assert report["settings"]["truth"] == "truth.csv"
    assert report["interval_methods"]["auc"] == "DeLong clustered (Obuchowski 1997), t on G − 1 df"


def test_without_a_champion_there_is_no_comparison():
    truth, strong, _ = _binary()
    report = evaluate(task="binary", truth=truth, predictions=strong, n_resamples=50)
    assert "comparison" not in report
    assert "comparisons" not in report
    assert "champion_metrics" not in report
    assert report["n_groups"] is None
    assert set(report["curves"]) == {"challenger"}
    assert report["resampling"]["units"] == "rows"


def test_curves_are_small_monotone_and_span_the_roc():
    truth, strong, weak = _binary(n=20_000)
    report = evaluate(task="binary", truth=truth, predictions=strong, champion=weak, n_resamples=20)
    for who in ("challenger", "champion"):
        far, frr = (np.array(report["curves"][who][k]) for k in ("far", "frr"))
        assert 50 < len(far) <= 202
        assert (far[0], frr[0]) == (0.0, 1.0)
        assert (far[-1], frr[-1]) == (1.0, 0.0)
        assert np.all(np.diff(far) >= 0)
        assert np.all(np.diff(frr) <= 0)
        assert far[1] < 1e-3  # the low-FAR end a DET chart needs is sampled too


def test_progress_is_reported_in_order_up_to_done(tmp_path):
    rng = np.random.default_rng(2)
    n = 20_000
    y = (rng.random(n) < 0.5).astype(int)
    paths = write_binary(tmp_path, y, {"a": rng.random(n), "b": rng.random(n)})
    calls = []
    evaluate(
        task="binary",
        truth=paths["truth"],
        predictions=paths["a"],
        champion=paths["b"],
        n_resamples=500,
        progress=lambda stage, fraction: calls.append((stage, fraction)),
    )
    stages = [stage for stage, _ in calls]
    assert stages[0] == "parsing"
    assert stages[-1] == "done"
    assert calls[-1] == ("done", 1.0)
    order = ["parsing", "metrics", "resampling", "done"]
    assert [order.index(s) for s in stages] == sorted(order.index(s) for s in stages)
    fractions = [f for _, f in calls]
    assert fractions == sorted(fractions)
    assert sum(stage == "resampling" for stage in stages) >= 4  # a bar that moves while resampling


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_default_primary_metric(task):
    rng = np.random.default_rng(3)
    n = 300
    if task == "binary":
        y = (rng.random(n) < 0.5).astype(int)
        truth = Truth.from_arrays(task=task, y=y)
        a, b = ({"scores": rng.random(n)} for _ in range(2))
    elif task == "multiclass":
        y = rng.choice(list("abc"), n)
        truth = Truth.from_arrays(task=task, y=y)
        a, b = ({"labels": rng.choice(list("abc"), n)} for _ in range(2))
    else:
        y = rng.normal(size=n)
        truth = Truth.from_arrays(task=task, y=y)
        a, b = ({"values": y + rng.normal(size=n)} for _ in range(2))
    report = evaluate(
        task=task,
        truth=truth,
        predictions=Predictions.from_arrays(truth=truth, **a),
        champion=Predictions.from_arrays(truth=truth, **b),
        n_resamples=50,
    )
    assert report["comparison"]["primary"] == DEFAULT_PRIMARY[task]
    # Binary scores in [0, 1] are probabilities; multiclass log_loss needs p_<class> columns.
    assert list(report["metrics"]) == [m for m in METRICS[task] if task != "multiclass" or m != "log_loss"]


def test_verdicts_follow_each_metric_direction():
    truth, strong, weak = _binary(n=3000)
    forward = evaluate(task="binary", truth=truth, predictions=strong, champion=weak, n_resamples=300)
    backward = evaluate(task="binary", truth=truth, predictions=weak, champion=strong, n_resamples=300)
    # 3,000 rows hold about 1,500 negatives: too few for FRR at FAR 1e-2 (needs 2,000) or 1e-3 (20,000).
    assert set(forward["support"]["not_estimable"]) == {"frr_at_far_1e-2", "frr_at_far_1e-3"}
    for metric in METRICS["binary"]:
        if metric in forward["support"]["not_estimable"]:
            assert forward["comparisons"][metric]["verdict"] == "insufficient_data", metric
            assert backward["comparisons"][metric]["verdict"] == "insufficient_data", metric
            continue
        assert forward["comparisons"][metric]["verdict"] == "better", metric
        assert backward["comparisons"][metric]["verdict"] == "worse", metric
    assert forward["comparisons"]["log_loss"]["delta"] < 0  # lower loss is better
    assert forward["comparisons"]["auc"]["delta"] > 0


def test_another_primary_metric_can_be_chosen():
    truth, strong, weak = _binary()
    report = evaluate(task="binary", truth=truth, predictions=strong, champion=weak, primary="eer", n_resamples=50)
    assert report["comparison"]["primary"] == "eer"
    assert report["comparison"]["method"] == "linearised EER variance (Bahadur), paired"
    with pytest.raises(ValueError, match="unknown binary metric 'rmse'"):
        evaluate(task="binary", truth=truth, predictions=strong, primary="rmse")


def test_a_probability_primary_needs_probabilities(tmp_path):
    y = np.array([0, 1, 0, 1])
    paths = write_binary(tmp_path, y, {"a": np.array([0.1, 0.8, 0.3, 0.6]), "b": np.array([0.2, 1.7, 0.1, 0.9])})
    with pytest.raises(EvaluationInputError) as caught:
        evaluate(task="binary", truth=paths["truth"], predictions=paths["a"], champion=paths["b"], primary="log_loss")
    assert (
        str(caught.value) == "b.csv, line 3, column 2 (score): log_loss needs probabilities, but the score 1.7 "
        "is outside [0, 1]"
    )


def test_tiny_data_gives_honest_empty_intervals_not_a_crash():
    truth = Truth.from_arrays(task="binary", y=[0, 0, 1])
    report = evaluate(
        task="binary",
        truth=truth,
        predictions=Predictions.from_arrays(truth=truth, scores=[0.1, 0.4, 0.3]),
        champion=Predictions.from_arrays(truth=truth, scores=[0.2, 0.1, 0.9]),
        n_resamples=200,
    )
    json.dumps(report, allow_nan=False)
    assert report["metrics"]["auc"]["value"] == 0.5
    assert report["metrics"]["auc"]["ci_low"] is None  # one positive: no DeLong variance
    assert report["comparison"]["verdict"] == "insufficient_data"
    assert report["comparison"]["reason"] == "the variance of the difference cannot be estimated from these data"


def test_truth_read_for_another_task_is_refused():
    truth, strong, _ = _binary()
    with pytest.raises(ValueError, match="read for a binary task"):
        evaluate(task="regression", truth=truth, predictions=strong)


def _width(entry: dict) -> float:
    return entry["ci_high"] - entry["ci_low"]


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_groups_widen_the_intervals_when_rows_in_a_group_share_their_errors(task):
    """Each subject has its own error level per model: with the group column every interval and test widens."""
    rng = np.random.default_rng(8)
    n_groups, per = 60, 30
    group = np.repeat(np.arange(n_groups), per)
    n = len(group)
    if task == "multiclass":
        y = rng.choice(3, n)
        kwargs = []
        for _ in range(2):
            hit = rng.random(n) < np.clip(0.7 + rng.normal(0, 0.2, n_groups)[group], 0, 1)
            kwargs.append({"labels": np.where(hit, y, (y + 1) % 3)})
        metrics = ("accuracy", "macro_f1", "balanced_accuracy")
    else:
        y = rng.normal(size=n)
        kwargs = [{"values": y + rng.normal(0, 1, n_groups)[group] + rng.normal(0, 0.3, n)} for _ in range(2)]
        metrics = ("mae", "rmse", "r2")
    reports = {}
    for grouped in (True, False):
        truth = Truth.from_arrays(task=task, y=y, groups=group if grouped else None)
        reports[grouped] = evaluate(
            task=task,
            truth=truth,
            predictions=Predictions.from_arrays(truth=truth, **kwargs[0]),
            champion=Predictions.from_arrays(truth=truth, **kwargs[1]),
            n_resamples=400,
        )
    assert reports[True]["resampling"]["units"] == "groups"
    for metric in metrics:
        assert _width(reports[True]["metrics"][metric]) > 1.5 * _width(reports[False]["metrics"][metric]), metric
        assert _width(reports[True]["comparisons"][metric]) > 1.5 * _width(reports[False]["comparisons"][metric])


def test_many_groups_are_resampled_in_buckets_of_whole_groups(monkeypatch):
    import experiments.evaluation.resampling as resampling

    monkeypatch.setattr(resampling, "MAX_UNITS", 10)
    truth, strong, weak = _binary(n=600, groups=40)
    report = evaluate(task="binary", truth=truth, predictions=strong, champion=weak, n_resamples=100)
    assert report["resampling"] == {"units": "random buckets of groups", "n_units": 10, "n_resamples": 100}
    assert report["n_groups"] == 40
