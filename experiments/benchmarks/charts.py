"""Benchmark charts as plotly figure dicts. Pure functions: no Django, tested directly.

- ``forest_figure``: each challenger's difference from the champion on the primary metric, with
  its 95% interval, against a line at zero; the side where challengers win is shaded.
- ``roc_figure`` / ``det_figure``: champion against one challenger. The DET chart plots FRR
  against FAR on normal-deviate (probit) axes, where the low-error region that biometric systems
  live in is spread out instead of squashed into a corner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

VERDICT_COLORS = {
    "better": "#16a34a",
    "worse": "#dc2626",
    "no_significant_difference": "#6b7280",
}
MODEL_COLORS = {"champion": "#d97706", "challenger": "#4f46e5"}
DET_TICKS = [0.0001, 0.001, 0.01, 0.05, 0.2, 0.5, 0.8]
DET_LIMITS = (0.0001, 0.95)


@dataclass(frozen=True)
class ForestRow:
    label: str
    delta: float
    low: float | None
    high: float | None
    verdict: str
    url: str = ""


def _layout(height: int, **extra: object) -> dict:
    layout = {
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#ffffff",
        "hovermode": "closest",
    }
    layout.update(extra)
    return layout


def _axis(title: str, **extra: object) -> dict:
    axis = {"title": {"text": title}, "gridcolor": "#eef0f4", "zeroline": False, "automargin": True}
    axis.update(extra)
    return axis


def forest_figure(rows: Sequence[ForestRow], *, metric_label: str, higher_is_better: bool) -> dict:
    """Differences (challenger − champion) with 95% intervals, one row per challenger, first row on top.

    Rows without an interval are drawn as bare points. The x range always includes zero, and the
    side of zero where the challenger is better is shaded and labelled.
    """
    labels = [row.label for row in rows]
    deltas = [row.delta for row in rows]
    plus = [(row.high - row.delta) if row.high is not None else 0.0 for row in rows]
    minus = [(row.delta - row.low) if row.low is not None else 0.0 for row in rows]
    lows = [row.low if row.low is not None else row.delta for row in rows]
    highs = [row.high if row.high is not None else row.delta for row in rows]
    span_low = min([0.0, *lows])
    span_high = max([0.0, *highs])
    pad = (span_high - span_low) * 0.08 or 0.01
    x_range = [span_low - pad, span_high + pad]
    better_side = [0, x_range[1]] if higher_is_better else [x_range[0], 0]
    traces = [
        {
            "type": "scatter",
            "mode": "markers",
            "x": deltas,
            "y": labels,
            "error_x": {"type": "data", "symmetric": False, "array": plus, "arrayminus": minus, "thickness": 2},
            "marker": {
                "size": 9,
                "symbol": "diamond",
                "color": [VERDICT_COLORS.get(row.verdict, "#6b7280") for row in rows],
            },
            "customdata": [[row.low, row.high, row.verdict.replace("_", " "), row.url] for row in rows],
            "hovertemplate": (
                "%{y}<br>Δ " + metric_label + " %{x:+.4f}<br>95% CI [%{customdata[0]:+.4f}, %{customdata[1]:+.4f}]"
                "<br>%{customdata[2]}<extra></extra>"
            ),
            "showlegend": False,
        }
    ]
    height = max(220, 60 + 28 * len(rows))
    layout = _layout(
        height,
        margin={"l": 20, "r": 20, "t": 30, "b": 50},
        xaxis=_axis(f"Δ {metric_label} (challenger − champion)", range=x_range, zeroline=False),
        yaxis=_axis("", autorange="reversed", type="category"),
        shapes=[
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": better_side[0],
                "x1": better_side[1],
                "y0": 0,
                "y1": 1,
                "fillcolor": "rgba(22, 163, 74, 0.06)",
                "line": {"width": 0},
                "layer": "below",
            },
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": 0,
                "x1": 0,
                "y0": 0,
                "y1": 1,
                "line": {"color": "#111827", "width": 1.5, "dash": "dash"},
            },
        ],
        annotations=[
            {
                "xref": "x",
                "yref": "paper",
                "x": (better_side[0] + better_side[1]) / 2,
                "y": 1.0,
                "yanchor": "bottom",
                "text": "challenger better →" if higher_is_better else "← challenger better",
                "showarrow": False,
                "font": {"size": 11, "color": "#15803d"},
            }
        ],
        meta={"rows": len(rows)},
    )
    return {"data": traces, "layout": layout}


def _curve(curves: Mapping[str, Mapping], who: str) -> tuple[np.ndarray, np.ndarray] | None:
    curve = curves.get(who)
    if not curve or "far" not in curve or "frr" not in curve:
        return None
    return np.asarray(curve["far"], dtype=float), np.asarray(curve["frr"], dtype=float)


def _ordered(curves: Mapping[str, Mapping]) -> list[str]:
    return [who for who in ("champion", "challenger") if _curve(curves, who) is not None]


def roc_figure(curves: Mapping[str, Mapping], *, names: Mapping[str, str], height: int = 360) -> dict:
    """ROC (true accept rate against false accept rate) of the champion and a challenger.

    ``curves`` is the engine's ``{"champion"|"challenger": {"far": [...], "frr": [...]}}``;
    ``names`` labels each model in the legend.
    """
    traces = []
    for who in _ordered(curves):
        far, frr = _curve(curves, who)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": names.get(who, who),
                "x": far.tolist(),
                "y": (1.0 - frr).tolist(),
                "line": {"color": MODEL_COLORS[who], "width": 2, "shape": "hv"},
                "hovertemplate": f"{names.get(who, who)}<br>FAR %{{x:.4f}}<br>TAR %{{y:.4f}}<extra></extra>",
            }
        )
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "chance",
            "x": [0, 1],
            "y": [0, 1],
            "line": {"color": "#9ca3af", "width": 1, "dash": "dot"},
            "hoverinfo": "skip",
            "showlegend": False,
        }
    )
    layout = _layout(
        height,
        title={"text": "ROC", "font": {"size": 14}, "x": 0.01},
        xaxis=_axis("False accept rate (FAR)", range=[0, 1]),
        yaxis=_axis("True accept rate (1 − FRR)", range=[0, 1.02]),
        legend={"orientation": "h", "y": -0.22},
    )
    return {"data": traces, "layout": layout}


def probit(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Normal deviates of error rates, clipped to the chart's limits (0 and 1 have no deviate)."""
    clipped = np.clip(np.asarray(values, dtype=float), *DET_LIMITS)
    return norm.ppf(clipped)


def _percent(value: float) -> str:
    text = f"{value * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def det_figure(curves: Mapping[str, Mapping], *, names: Mapping[str, str], height: int = 360) -> dict:
    """DET (FRR against FAR on probit axes) of the champion and a challenger, with the EER diagonal."""
    traces = []
    for who in _ordered(curves):
        far, frr = _curve(curves, who)
        keep = (far > 0) | (frr > 0)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": names.get(who, who),
                "x": probit(far[keep]).tolist(),
                "y": probit(frr[keep]).tolist(),
                "customdata": np.stack([far[keep], frr[keep]], axis=1).tolist(),
                "line": {"color": MODEL_COLORS[who], "width": 2},
                "hovertemplate": (
                    f"{names.get(who, who)}<br>FAR %{{customdata[0]:.4%}}<br>FRR %{{customdata[1]:.4%}}<extra></extra>"
                ),
            }
        )
    limits = probit(DET_LIMITS).tolist()
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "FAR = FRR (EER)",
            "x": limits,
            "y": limits,
            "line": {"color": "#9ca3af", "width": 1, "dash": "dot"},
            "hoverinfo": "skip",
        }
    )
    ticks = probit(DET_TICKS).tolist()
    tick_text = [_percent(v) for v in DET_TICKS]
    layout = _layout(
        height,
        title={"text": "DET (probit scale)", "font": {"size": 14}, "x": 0.01},
        xaxis=_axis("False accept rate (FAR)", tickvals=ticks, ticktext=tick_text, range=limits),
        yaxis=_axis("False reject rate (FRR)", tickvals=ticks, ticktext=tick_text, range=limits),
        legend={"orientation": "h", "y": -0.22},
    )
    return {"data": traces, "layout": layout}
