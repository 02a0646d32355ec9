"""Results charts as plotly figure dicts: each benchmark's champion sprint by sprint, and the
challengers measured against it. Pure functions: no Django, tested directly."""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence

from experiments.dashboards.charts import (
    ACCENT,
    VERDICT_COLORS,
    VERDICT_LABELS,
    MetricPoint,
    Promotion,
    SprintSpan,
    axis,
    base_layout,
    iso_time,
    json_number,
)
from tickets.attribution import SprintPeriod, attribution_text


def _error(points: Sequence[MetricPoint]) -> dict:
    plus = [None if p.high is None or p.value is None else json_number(p.high - p.value) for p in points]
    minus = [None if p.low is None or p.value is None else json_number(p.value - p.low) for p in points]
    return {"type": "data", "symmetric": False, "array": plus, "arrayminus": minus, "thickness": 1.5, "width": 3}


def _interval_text(point: MetricPoint) -> str:
    if point.low is None or point.high is None:
        return ""
    return f" [{point.low:.4g}, {point.high:.4g}]"


def challengers_figure(
    challengers: Sequence[MetricPoint],
    champions: Sequence[MetricPoint],
    *,
    metric: str,
    title: str = "",
    height: int = 340,
) -> dict:
    """Challengers in evaluation order on the primary metric, interval bars, coloured by verdict,
    against the champion each was compared with (a dashed step line with its interval band).

    ``champions[i]`` is the champion ``challengers[i]`` was measured against (same length).
    """
    if len(champions) != len(challengers):
        raise ValueError("champions must give one reference point per challenger")
    xs = [f"{i + 1}. {p.label}" for i, p in enumerate(challengers)]
    data: list[dict] = []
    if challengers:
        lows = [json_number(c.low if c.low is not None else c.value) for c in champions]
        highs = [json_number(c.high if c.high is not None else c.value) for c in champions]
        data += [
            {
                "type": "scatter",
                "mode": "lines",
                "x": xs,
                "y": highs,
                "line": {"width": 0, "shape": "hvh"},
                "hoverinfo": "skip",
                "showlegend": False,
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Champion interval",
                "x": xs,
                "y": lows,
                "fill": "tonexty",
                "fillcolor": "rgba(79,70,229,0.10)",
                "line": {"width": 0, "shape": "hvh"},
                "hoverinfo": "skip",
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Champion",
                "x": xs,
                "y": [json_number(c.value) for c in champions],
                "customdata": [c.label for c in champions],
                "line": {"color": ACCENT, "dash": "dash", "width": 2, "shape": "hvh"},
                "hovertemplate": f"champion %{{customdata}}<br>{metric} %{{y:.4g}}<extra></extra>",
            },
        ]
    for verdict in VERDICT_COLORS:
        picked = [(x, p) for x, p in zip(xs, challengers, strict=True) if p.verdict == verdict]
        if not picked:
            continue
        points = [p for _, p in picked]
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": VERDICT_LABELS[verdict],
                "x": [x for x, _ in picked],
                "y": [json_number(p.value) for p in points],
                "error_y": {**_error(points), "color": VERDICT_COLORS[verdict]},
                "marker": {"color": VERDICT_COLORS[verdict], "size": 10, "line": {"color": "#fff", "width": 1}},
                "customdata": [[p.label, p.ticket, _interval_text(p)] for p in points],
                "hovertemplate": (
                    f"%{{customdata[0]}} %{{customdata[1]}}<br>{metric} %{{y:.4g}}%{{customdata[2]}}<extra></extra>"
                ),
            }
        )
    layout = base_layout(
        title or f"Challengers on {metric}",
        height=height,
        xaxis=axis(type="category", showticklabels=len(xs) <= 12, tickangle=-20),
        yaxis=axis(metric),
    )
    return {"data": data, "layout": layout}


def champion_steps(
    promotions: Sequence[Promotion], *, until: datetime.datetime
) -> tuple[list[str], list[float | None], list[float | None], list[float | None], list[str]]:
    """The champion's value as a step series: x, value, low, high, hover label.

    Each promotion starts a step that holds until the next one (or ``until``).
    """
    ordered = sorted(promotions, key=lambda p: p.at)
    xs, ys, lows, highs, labels = [], [], [], [], []
    for promotion in ordered:
        xs.append(iso_time(promotion.at))
        ys.append(json_number(promotion.value))
        lows.append(json_number(promotion.low if promotion.low is not None else promotion.value))
        highs.append(json_number(promotion.high if promotion.high is not None else promotion.value))
        labels.append(f"{promotion.label} {promotion.ticket}".strip())
    if ordered and until > ordered[-1].at:
        xs.append(iso_time(until))
        ys.append(ys[-1])
        lows.append(lows[-1])
        highs.append(highs[-1])
        labels.append(labels[-1])
    return xs, ys, lows, highs, labels


def champion_progress_figure(
    *,
    metric: str,
    promotions: Sequence[Promotion],
    challengers: Sequence[MetricPoint],
    sprints: Sequence[SprintSpan],
    until: datetime.datetime,
    periods: Sequence[SprintPeriod] = (),
    title: str = "",
    height: int = 400,
    max_sprint_labels: int = 14,
) -> dict:
    """The champion's primary metric over time as a step line with its interval band, every
    challenger as a point (interval bar, verdict colour), promotions annotated with their
    ticket, and the sprints as alternating bands in the background.

    With ``periods`` (when each sprint was active), each promotion's hover says which sprint
    it is credited to, by :func:`tickets.attribution.attribution_text`.
    """
    xs, ys, lows, highs, labels = champion_steps(promotions, until=until)
    ordered = sorted(promotions, key=lambda p: p.at)
    if periods:
        for index, promotion in enumerate(ordered):
            labels[index] = f"{labels[index]} · {attribution_text(periods, promotion.at)}"
    data: list[dict] = []
    if xs:
        data += [
            {
                "type": "scatter",
                "mode": "lines",
                "x": xs,
                "y": highs,
                "line": {"width": 0, "shape": "hv"},
                "hoverinfo": "skip",
                "showlegend": False,
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Champion interval (95%)",
                "x": xs,
                "y": lows,
                "fill": "tonexty",
                "fillcolor": "rgba(79,70,229,0.12)",
                "line": {"width": 0, "shape": "hv"},
                "hoverinfo": "skip",
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "Champion",
                "x": xs,
                "y": ys,
                "customdata": labels,
                "line": {"color": ACCENT, "width": 3, "shape": "hv"},
                "marker": {"size": [9] * len(promotions) + [0] * (len(xs) - len(promotions)), "color": ACCENT},
                "hovertemplate": f"champion %{{customdata}}<br>{metric} %{{y:.4g}}<extra></extra>",
            },
        ]
    for verdict in VERDICT_COLORS:
        points = [p for p in challengers if p.verdict == verdict]
        if not points:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": VERDICT_LABELS[verdict],
                "x": [iso_time(p.at) for p in points],
                "y": [json_number(p.value) for p in points],
                "error_y": {**_error(points), "color": VERDICT_COLORS[verdict]},
                "marker": {"color": VERDICT_COLORS[verdict], "size": 7, "opacity": 0.85},
                "customdata": [[p.label, p.ticket, _interval_text(p)] for p in points],
                "hovertemplate": (
                    f"%{{customdata[0]}} %{{customdata[1]}}<br>{metric} %{{y:.4g}}%{{customdata[2]}}<extra></extra>"
                ),
            }
        )
    annotations = []
    for promotion in ordered[1:]:
        annotation = {
            "x": iso_time(promotion.at),
            "y": json_number(promotion.value),
            "text": f"↑ {promotion.ticket or promotion.label}",
            "showarrow": True,
            "arrowhead": 2,
            "ax": 0,
            "ay": -32,
            "font": {"size": 11, "color": ACCENT},
            "bgcolor": "rgba(255,255,255,0.85)",
        }
        if periods:
            annotation["hovertext"] = f"{promotion.label} became champion {attribution_text(periods, promotion.at)}"
        annotations.append(annotation)
    shapes = []
    every = max(1, math.ceil(len(sprints) / max_sprint_labels))
    for index, span in enumerate(sprints):
        x0 = iso_time(span.start)
        # Dates are whole days (inclusive); times (when a sprint was active) are exact.
        end = span.end if isinstance(span.end, datetime.datetime) else span.end + datetime.timedelta(days=1)
        x1 = iso_time(end)
        if index % 2 == 0:
            shapes.append(
                {
                    "type": "rect",
                    "xref": "x",
                    "yref": "paper",
                    "x0": x0,
                    "x1": x1,
                    "y0": 0,
                    "y1": 1,
                    "fillcolor": "rgba(15,23,42,0.035)",
                    "line": {"width": 0},
                    "layer": "below",
                }
            )
        if index % every == 0:
            annotations.append(
                {
                    "x": iso_time(span.start + (span.end - span.start) / 2),
                    "y": 1.0,
                    "xref": "x",
                    "yref": "paper",
                    "yanchor": "bottom",
                    "text": span.name,
                    "showarrow": False,
                    "font": {"size": 10, "color": "#6b7280"},
                }
            )
    layout = base_layout(
        title or f"Champion {metric}, sprint by sprint",
        height=height,
        xaxis=axis(type="date"),
        yaxis=axis(metric),
        shapes=shapes,
        annotations=annotations,
        margin={"l": 55, "r": 20, "t": 64, "b": 44},
    )
    layout["title"]["y"] = 0.98
    return {"data": data, "layout": layout}
