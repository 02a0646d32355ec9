"""The promotion guardrail: the primary metric must be better, and no guardrail metric may regress.

A guardrail is a non-inferiority check with a margin: the 95% interval of (challenger − champion)
must stay above −margin for a higher-is-better metric, below +margin for a loss or error rate.

With sequential control (``sequential.Lord``) the primary metric must also be significant at the
level the procedure allows for this test on the dataset version: its p-value at most ``level``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from experiments.evaluation.metrics import higher_is_better


@dataclass(frozen=True)
class GateResult:
    allowed: bool
    reasons: list[str] = field(default_factory=list)


def _p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2g}"


def _pct(level: float) -> str:
    return f"{100 * level:.2g}%"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.4g}"


def check_gate(
    comparisons: Mapping[str, Mapping],
    *,
    primary: str,
    margins: Mapping[str, float],
    level: float | None = None,
    test: int | None = None,
) -> GateResult:
    """Whether the challenger may replace the champion, and every reason why not.

    ``comparisons`` is the report's ``comparisons`` ({metric: {delta, ci_low, ci_high, verdict, ...}}) or the
    report itself;
    ``margins`` maps guardrail metrics to the largest tolerated regression (≥ 0, in the metric's unit).
    ``level``: the significance level the sequential procedure allows this comparison (test number ``test``
    on its dataset version); None keeps the plain 95% rule.
    """
    if "comparisons" in comparisons:  # the whole report was passed
        comparisons = comparisons["comparisons"]
    reasons: list[str] = []
    main = comparisons.get(primary)
    if main is None:
        reasons.append(f"{primary}: the primary metric was not compared")
    elif main.get("verdict") == "insufficient_data":
        reasons.append(f"{primary}: the data cannot support a verdict ({main.get('reason') or 'insufficient data'})")
    elif main.get("verdict") != "better":
        state = "significantly worse" if main.get("verdict") == "worse" else "not significantly better"
        reasons.append(
            f"{primary}: the challenger is {state} than the champion "
            f"(Δ {_fmt(main.get('delta'))}, 95% CI {_fmt(main.get('ci_low'))} to {_fmt(main.get('ci_high'))})"
        )
    elif level is not None and (main.get("p_value") is None or main["p_value"] > level):
        where = f"test {test} on this dataset version" if test else "this test"
        reasons.append(
            f"{primary}: better at 95%, but p = {_p(main.get('p_value'))} is above the level {_pct(level)} that "
            f"{where} is allowed after the set's earlier comparisons (LORD++)"
        )
    for metric, margin in margins.items():
        if metric == primary:
            continue
        if margin is None or not math.isfinite(float(margin)) or margin < 0:
            raise ValueError(f"the margin for {metric} must be a number ≥ 0, not {margin!r}")
        entry = comparisons.get(metric)
        if entry is None:
            reasons.append(f"{metric}: guardrail metric was not compared")
            continue
        low, high = entry.get("ci_low"), entry.get("ci_high")
        if low is None or high is None:
            reasons.append(f"{metric}: no interval for the difference, so non-inferiority cannot be shown")
            continue
        if higher_is_better(metric):
            ok, bound, limit = low > -margin, low, -margin
        else:
            ok, bound, limit = high < margin, high, margin
        if not ok:
            reasons.append(
                f"{metric}: may have regressed beyond the margin {margin:g} "
                f"(Δ {_fmt(entry.get('delta'))}, 95% CI bound {_fmt(bound)} vs limit {_fmt(limit)})"
            )
    return GateResult(allowed=not reasons, reasons=reasons)
