"""Template helpers for benchmark and evaluation pages."""

from __future__ import annotations

from django import template

from experiments.benchmarks import text
from experiments.evaluation import support

register = template.Library()

VERDICT_BADGE = {
    "better": ("text-bg-success", "bi-arrow-up-circle", "Better"),
    "worse": ("text-bg-danger", "bi-arrow-down-circle", "Worse"),
    "no_significant_difference": ("text-bg-secondary", "bi-dash-circle", "No significant difference"),
    "insufficient_data": ("text-bg-warning", "bi-question-circle", "Insufficient data"),
}
STATUS_BADGE = {
    "queued": "text-bg-light border",
    "running": "text-bg-info",
    "succeeded": "text-bg-success",
    "failed": "text-bg-danger",
}


@register.inclusion_tag("benchmarks/partials/verdict_badge.html")
def verdict_badge(evaluation) -> dict:
    """The verdict of a succeeded evaluation, or its status while it is not done (or not compared)."""
    status = getattr(evaluation, "status", "")
    verdict = getattr(evaluation, "verdict", "")
    if status == "succeeded" and verdict in VERDICT_BADGE:
        css, icon, label = VERDICT_BADGE[verdict]
        return {"css": css, "icon": icon, "label": label, "verdict": verdict}
    if status == "succeeded":
        return {"css": "text-bg-light border", "icon": "bi-flag", "label": "Not compared", "verdict": ""}
    labels = {"queued": "Queued", "running": f"Running {getattr(evaluation, 'progress', 0)}%", "failed": "Failed"}
    icons = {"queued": "bi-hourglass", "running": "bi-arrow-repeat", "failed": "bi-x-octagon"}
    return {"css": STATUS_BADGE.get(status, ""), "icon": icons.get(status, ""), "label": labels.get(status, status)}


@register.filter
def groups_warning(n_groups: int | None) -> str:
    """A warning in words when a dataset has few groups (the engine's thresholds), else ""."""
    if not n_groups:
        return ""
    if n_groups < support.MIN_GROUPS_FOR_VERDICT:
        return (
            f"Only {n_groups} groups: comparisons give no verdict (insufficient data) below "
            f"{support.MIN_GROUPS_FOR_VERDICT} groups, and intervals are approximate."
        )
    if n_groups < support.APPROXIMATE_BELOW_GROUPS:
        return (
            f"Only {n_groups} groups: intervals are approximate below {support.APPROXIMATE_BELOW_GROUPS} groups; "
            "more subjects would make verdicts firmer."
        )
    return ""


@register.filter
def level(value: float | None) -> str:
    """A significance level as a percentage with two significant digits (0.8%, 0.0041%)."""
    if value is None:
        return "—"
    return f"{100 * value:.2g}%"


@register.filter
def status_css(status: str) -> str:
    return STATUS_BADGE.get(str(status), "text-bg-light")


@register.filter
def metric_label(metric: str) -> str:
    return text.metric_label(str(metric))


@register.filter
def num(value) -> str:
    return text.number(value)


@register.filter
def signed(value) -> str:
    return text.number(value, signed=True)


@register.simple_tag
def ci(low, high, signed: bool = False) -> str:
    return text.interval(low, high, signed=signed)


@register.filter
def pvalue(value) -> str:
    return text.p_value(value)


@register.filter
def verdict_words(verdict: str) -> str:
    return text.VERDICT_WORDS.get(str(verdict), str(verdict))


@register.filter
def percent(value) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:.1f}%"
