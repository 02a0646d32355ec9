"""Evaluation results in plain words. Pure functions: no Django, tested directly.

``comparison_sentence`` turns the engine's comparison into the line people read on pages and in
the API, e.g. ``AUC +0.012 [0.004, 0.020], better, p = 0.003; guardrail EER held``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

METRIC_LABELS = {
    "auc": "AUC",
    "eer": "EER",
    "frr_at_far_1e-2": "FRR@FAR 1%",
    "frr_at_far_1e-3": "FRR@FAR 0.1%",
    "accuracy": "Accuracy",
    "f1": "F1",
    "brier_loss": "Brier loss",
    "log_loss": "Log loss",
    "macro_f1": "Macro F1",
    "balanced_accuracy": "Balanced accuracy",
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R²",
}
VERDICT_WORDS = {
    "better": "better",
    "worse": "worse",
    "no_significant_difference": "no significant difference",
    "insufficient_data": "insufficient data",
}


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def number(value: float | None, *, signed: bool = False) -> str:
    """Three decimals, or two significant digits when three decimals would show a non-zero value as 0."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    value = float(value)
    if math.isinf(value):
        return ("+∞" if signed else "∞") if value > 0 else "−∞"
    sign = "+" if signed and value >= 0 else ""
    if value != 0 and abs(value) < 0.0005:
        text = f"{value:.2g}"
    elif abs(value) >= 1e5:
        text = f"{value:.3g}"
    else:
        text = f"{value:.3f}"
    return (sign + text).replace("-", "−")


def interval(low: float | None, high: float | None, *, signed: bool = False) -> str:
    if low is None or high is None:
        return "[no interval]"
    return f"[{number(low, signed=signed)}, {number(high, signed=signed)}]"


def p_value(value: float | None) -> str:
    if value is None:
        return "p n/a"
    if value < 0.001:
        return "p < 0.001"
    return f"p = {value:.3f}"


def guardrail_states(guardrails: Mapping[str, float], gate_reasons: Sequence[str]) -> list[tuple[str, bool]]:
    """``[(metric, held)]`` for each guardrail; a guardrail failed when the gate gave a reason for it."""
    failed = {reason.split(":", 1)[0].strip() for reason in gate_reasons}
    return [(metric, metric not in failed) for metric in guardrails]


def comparison_sentence(
    comparison: Mapping | None,
    *,
    guardrails: Mapping[str, float] | None = None,
    gate_reasons: Sequence[str] = (),
) -> str:
    """One line: the primary metric's difference with its interval, the verdict, the p-value, the guardrails."""
    if not comparison:
        return "Not compared with a champion."
    metric = comparison.get("primary") or comparison.get("metric") or ""
    verdict = VERDICT_WORDS.get(comparison.get("verdict", ""), comparison.get("verdict", ""))
    if comparison.get("verdict") == "insufficient_data":
        reason = comparison.get("reason")
        return f"{metric_label(metric)} {number(comparison.get('delta'), signed=True)}, insufficient data" + (
            f": {reason}" if reason else ""
        )
    text = (
        f"{metric_label(metric)} {number(comparison.get('delta'), signed=True)} "
        f"{interval(comparison.get('ci_low'), comparison.get('ci_high'), signed=True)}, {verdict}, "
        f"{p_value(comparison.get('p_value'))}"
    )
    states = guardrail_states(guardrails or {}, gate_reasons)
    if states:
        held = [metric_label(m) for m, ok in states if ok]
        broken = [metric_label(m) for m, ok in states if not ok]
        parts = []
        if held:
            parts.append(f"guardrail{'s' if len(held) > 1 else ''} {' and '.join(held)} held")
        if broken:
            parts.append(f"guardrail{'s' if len(broken) > 1 else ''} {' and '.join(broken)} not held")
        text += "; " + "; ".join(parts)
    return text
