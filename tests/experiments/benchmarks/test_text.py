"""Comparisons in plain words: pure functions, tested directly."""

from experiments.benchmarks.text import comparison_sentence, guardrail_states, interval, number, p_value

COMPARISON = {
    "primary": "auc",
    "delta": 0.0121,
    "ci_low": 0.0043,
    "ci_high": 0.0199,
    "p_value": 0.0031,
    "verdict": "better",
}


def test_the_sentence_reads_like_the_product_promises():
    sentence = comparison_sentence(COMPARISON, guardrails={"eer": 0.01}, gate_reasons=[])
    assert sentence == "AUC +0.012 [+0.004, +0.020], better, p = 0.003; guardrail EER held"


def test_a_failed_guardrail_is_named():
    reasons = ["eer: may have regressed beyond the margin 0.01 (...)"]
    sentence = comparison_sentence(COMPARISON, guardrails={"eer": 0.01, "f1": 0.02}, gate_reasons=reasons)
    assert sentence.endswith("; guardrail F1 held; guardrail EER not held")


def test_no_comparison_says_so():
    assert comparison_sentence(None) == "Not compared with a champion."


def test_numbers_keep_small_differences_visible():
    assert number(0.0002, signed=True) == "+0.0002"
    assert number(-0.0123, signed=True) == "−0.012"
    assert number(None) == "—"
    assert number(float("inf")) == "∞"
    assert interval(None, 0.1) == "[no interval]"


def test_p_values():
    assert p_value(0.0) == "p < 0.001"
    assert p_value(0.2567) == "p = 0.257"
    assert p_value(None) == "p n/a"


def test_guardrail_states_follow_the_gate_reasons():
    assert guardrail_states({"eer": 0.01, "f1": 0.1}, ["auc: not better", "f1: regressed"]) == [
        ("eer", True),
        ("f1", False),
    ]
