"""Metric charts as plotly figure dicts. Pure functions: no Django, tested directly.

Long histories are reduced with bucket min/max before drawing: each bucket of
consecutive points keeps its lowest and highest point in step order, so spikes and
dips survive while a 100,000-point history becomes a few thousand points.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_POINTS = 2000
PALETTE = ["#4f46e5", "#0891b2", "#d97706", "#dc2626", "#16a34a", "#9333ea", "#db2777", "#0d9488", "#65a30d", "#475569"]


def downsample_minmax(
    steps: Sequence[float], values: Sequence[float], max_points: int = MAX_POINTS
) -> tuple[list[float], list[float]]:
    """At most ``max_points`` points of the series, keeping each bucket's min and max.

    Parameters
    ----------
    steps, values : sequences of equal length n, in step order.
    max_points : int, at least 4.

    Returns
    -------
    (steps, values) : lists with min(n_finite, max_points) points in step order. NaN
        values are dropped (a chart cannot draw them); infinities are kept as given.
    """
    if max_points < 4:
        raise ValueError("max_points must be at least 4")
    x = np.asarray(steps, dtype=float)
    y = np.asarray(values, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"steps and values differ in length: {x.shape[0]} vs {y.shape[0]}")
    keep = np.isfinite(y) & np.isfinite(x)
    x, y = x[keep], y[keep]
    n = x.shape[0]
    if n <= max_points:
        return x.tolist(), y.tolist()
    buckets = max_points // 2
    edges = np.linspace(0, n, buckets + 1).astype(int)
    starts = edges[:-1]
    # Index of the min and max inside each bucket, via reduceat on (value, index) order.
    order_min = np.empty(buckets, dtype=int)
    order_max = np.empty(buckets, dtype=int)
    for b, (lo, hi) in enumerate(zip(starts, edges[1:], strict=True)):
        segment = y[lo:hi]
        order_min[b] = lo + int(np.argmin(segment))
        order_max[b] = lo + int(np.argmax(segment))
    picked = np.unique(np.concatenate([order_min, order_max, [0, n - 1]]))
    return x[picked].tolist(), y[picked].tolist()


def _axis(title: str) -> dict:
    return {"title": {"text": title}, "gridcolor": "#eef0f4", "zeroline": False, "automargin": True}


def history_figure(
    key: str, series: Sequence[tuple[str, Sequence[float], Sequence[float]]], *, height: int = 280
) -> dict:
    """One chart of metric ``key``: a line per ``(label, steps, values)`` series, overlaid.

    Each series is downsampled with ``downsample_minmax``; series with a single point
    are drawn as markers so they stay visible.
    """
    traces = []
    total = 0
    for index, (label, steps, values) in enumerate(series):
        total += len(values)
        xs, ys = downsample_minmax(steps, values)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers" if len(xs) <= 30 else "lines",
                "name": label,
                "x": xs,
                "y": ys,
                "line": {"color": PALETTE[index % len(PALETTE)], "width": 2},
                "marker": {"size": 5},
                "hovertemplate": f"{label}<br>step %{{x}}<br>{key} %{{y:.4g}}<extra></extra>",
            }
        )
    return {
        "data": traces,
        "layout": {
            "title": {"text": key, "font": {"size": 14}, "x": 0.01},
            "height": height,
            "margin": {"l": 50, "r": 20, "t": 40, "b": 40},
            "xaxis": _axis("step"),
            "yaxis": _axis(""),
            "showlegend": len(traces) > 1,
            "legend": {"orientation": "h", "y": -0.25},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "#ffffff",
            "hovermode": "closest",
            "meta": {"points": total},
        },
    }
