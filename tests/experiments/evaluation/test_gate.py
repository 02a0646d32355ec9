"""The promotion guardrail: primary metric better, every guardrail non-inferior within its margin."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.evaluation import Predictions, Truth, check_gate, evaluate


def entry(delta, low, high, verdict):
    return {"delta": delta, "ci_low": low, "ci_high": high, "verdict": verdict}


COMPARISONS = {
    "auc": entry(0.02, 0.01, 0.03, "better"),
    "eer": entry(0.004, -0.001, 0.009, "no_significant_difference"),  # a loss: positive delta is worse
    "accuracy": entry(-0.01, -0.02, 0.0, "no_significant_difference"),
    "log_loss": entry(None, None, None, "no_significant_difference"),
}


def test_better_primary_and_non_inferior_guardrails_allow_promotion():
    result = check_gate(COMPARISONS, primary="auc", margins={"eer": 0.01, "accuracy": 0.025})
    assert result.allowed
    assert result.reasons == []


def test_a_primary_that_is_not_significantly_better_blocks():
    result = check_gate(COMPARISONS, primary="accuracy", margins={})
    assert not result.allowed
    assert result.reasons == [
        "accuracy: the challenger is not significantly better than the champion (Δ -0.01, 95% CI -0.02 to +0)"
    ]


def test_a_worse_primary_says_so():
    comparisons = {"rmse": entry(0.5, 0.2, 0.8, "worse")}
    result = check_gate(comparisons, primary="rmse", margins={})
    assert "significantly worse" in result.reasons[0]


def test_a_guardrail_beyond_its_margin_blocks_in_the_metric_direction():
    # eer is a loss: its interval's upper end (0.009) must stay below the margin.
    blocked = check_gate(COMPARISONS, primary="auc", margins={"eer": 0.005})
    assert not blocked.allowed
    assert blocked.reasons == [
        "eer: may have regressed beyond the margin 0.005 (Δ +0.004, 95% CI bound +0.009 vs limit +0.005)"
    ]
    # accuracy is higher-is-better: its lower end (-0.02) must stay above -margin.
    blocked = check_gate(COMPARISONS, primary="auc", margins={"accuracy": 0.02})
    assert blocked.reasons[0].startswith("accuracy: may have regressed beyond the margin 0.02")
    assert check_gate(COMPARISONS, primary="auc", margins={"accuracy": 0.021}).allowed


def test_every_reason_is_listed():
    result = check_gate(COMPARISONS, primary="accuracy", margins={"eer": 0.001, "log_loss": 0.1, "f1": 0.01})
    assert not result.allowed
    assert [r.split(":")[0] for r in result.reasons] == ["accuracy", "eer", "log_loss", "f1"]
    assert "no interval" in result.reasons[2]
    assert "was not compared" in result.reasons[3]


def test_a_missing_primary_blocks():
    assert check_gate({}, primary="auc", margins={}).reasons == ["auc: the primary metric was not compared"]


@pytest.mark.parametrize("margin", [-0.1, float("nan"), None])
def test_a_bad_margin_is_a_programming_error(margin):
    with pytest.raises(ValueError, match="margin for eer"):
        check_gate(COMPARISONS, primary="auc", margins={"eer": margin})


def test_gate_on_a_real_report():
    rng = np.random.default_rng(0)
    n = 3000
    y = (rng.random(n) < 0.5).astype(int)
    truth = Truth.from_arrays(task="binary", y=y)
    strong = Predictions.from_arrays(truth=truth, scores=1 / (1 + np.exp(-(2.0 * (y - 0.5) + rng.normal(size=n)))))
    weak = Predictions.from_arrays(truth=truth, scores=1 / (1 + np.exp(-(1.0 * (y - 0.5) + rng.normal(size=n)))))
    report = evaluate(task="binary", truth=truth, predictions=strong, champion=weak, n_resamples=200)
    assert check_gate(report["comparisons"], primary="auc", margins={"eer": 0.0, "log_loss": 0.0}).allowed
    assert check_gate(report, primary="auc", margins={"eer": 0.0}).allowed
    report = evaluate(task="binary", truth=truth, predictions=weak, champion=strong, n_resamples=200)
    result = check_gate(report["comparisons"], primary="auc", margins={"eer": 0.01})
    assert not result.allowed
    assert [r.split(":")[0] for r in result.reasons] == ["auc", "eer"]


def test_the_sequential_level_must_be_met_by_the_primary_p_value():
    better = {"auc": {**entry(0.02, 0.01, 0.03, "better"), "p_value": 0.003}}
    assert check_gate(better, primary="auc", margins={}, level=0.005, test=2).allowed
    result = check_gate(better, primary="auc", margins={}, level=0.00077, test=25)
    assert not result.allowed
    assert result.reasons == [
        "auc: better at 95%, but p = 0.003 is above the level 0.077% that test 25 on this dataset version is "
        "allowed after the set's earlier comparisons (LORD++)"
    ]


def test_insufficient_data_blocks_with_its_reason():
    entry_ = {**entry(0.02, None, None, "insufficient_data"), "reason": "5 groups; a verdict needs at least 10"}
    result = check_gate({"auc": entry_}, primary="auc", margins={})
    assert result.reasons == ["auc: the data cannot support a verdict (5 groups; a verdict needs at least 10)"]
