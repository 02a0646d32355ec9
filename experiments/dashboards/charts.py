"""Dashboard charts as plotly figure dicts. Pure functions: no Django, tested directly.

Every builder returns ``{"data": [...], "layout": {...}}`` made only of JSON types
(dates as ISO strings, missing numbers as None), ready for ``json_script`` and
``Plotly.newPlot``. Verdict colours are shared by every chart and the pages' badges.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tickets.burndown import SprintProgress

ACCENT = "#4f46e5"
GRID = "#eef0f4"
VERDICT_COLORS = {
    "better": "#16a34a",
    "worse": "#dc2626",
    "no_significant_difference": "#6b7280",
    "pending": "#a5b4fc",
}
VERDICT_LABELS = {
    "better": "Better than the champion",
    "worse": "Worse than the champion",
    "no_significant_difference": "No significant difference",
    "pending": "Not compared yet",
}
STATUS_COLORS = {
    "todo": "#cbd5e1",
    "in_progress": "#60a5fa",
    "review": "#fbbf24",
    "done": "#16a34a",
    "skipped": "#9ca3af",
}
OUTCOME_COLORS = {"supported": "#16a34a", "refuted": "#dc2626", "inconclusive": "#d97706"}
ADDED_COLOR = "#0891b2"
REMOVED_COLOR = "#f97316"


@dataclass(frozen=True)
class MetricPoint:
    """One evaluated model on the primary metric, with its 95% interval when known."""

    at: datetime.datetime
    value: float | None
    low: float | None = None
    high: float | None = None
    label: str = ""
    verdict: str = "pending"
    ticket: str = ""


@dataclass(frozen=True)
class Promotion:
    """A model becoming the champion at ``at`` (the first one is the baseline)."""

    at: datetime.datetime
    value: float | None
    low: float | None = None
    high: float | None = None
    label: str = ""
    ticket: str = ""


@dataclass(frozen=True)
class SprintSpan:
    name: str
    start: datetime.date
    end: datetime.date  # inclusive


@dataclass(frozen=True)
class SprintOutcome:
    """What one sprint delivered: answered questions, shipped code tickets, metric gain."""

    name: str
    answered: int
    shipped: int
    gain: float | None


def _num(value: float | None) -> float | None:
    """A JSON-safe number: NaN and infinities (which JSON cannot carry) become None."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _iso(moment: datetime.datetime | datetime.date) -> str:
    return moment.isoformat()


def _axis(title: str = "", **extra) -> dict:
    return {"title": {"text": title}, "gridcolor": GRID, "zeroline": False, "automargin": True, **extra}


def _layout(title: str, *, height: int, **extra) -> dict:
    layout = {
        "title": {"text": title, "font": {"size": 14}, "x": 0.01},
        "height": height,
        "margin": {"l": 55, "r": 20, "t": 44, "b": 44},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#ffffff",
        "hovermode": "closest",
        "legend": {"orientation": "h", "y": -0.18},
        "xaxis": _axis(),
        "yaxis": _axis(),
    }
    layout.update(extra)
    return layout


def _keys(tickets: Sequence[int], names: Mapping[int, str]) -> str:
    return ", ".join(names.get(t, f"#{t}") for t in tickets)


# --- Sprint: burndown, burnup, ticket mix ----------------------------------------------
def burndown_figure(progress: SprintProgress, *, names: Mapping[int, str] | None = None, height: int = 320) -> dict:
    """Open tickets left at each day's end against the ideal line, with scope changes as bars.

    Added tickets are bars above zero, tickets removed or skipped bars below, so a line that
    does not fall is explained by what came in.
    """
    names = names or {}
    xs = [_iso(progress.start)] + [_iso(d.shown_at) for d in progress.days]
    remaining = [progress.start_open] + [d.remaining for d in progress.days]
    ideal = progress.ideal()
    day_x = [d.day.isoformat() + "T12:00:00" for d in progress.days]
    added = [len(d.added) for d in progress.days]
    dropped = [-(len(d.removed) + len(d.skipped_today)) for d in progress.days]
    added_text = [_keys(d.added, names) for d in progress.days]
    dropped_text = [_keys([*d.removed, *d.skipped_today], names) for d in progress.days]
    data = [
        {
            "type": "bar",
            "name": "Added",
            "x": day_x,
            "y": added,
            "marker": {"color": ADDED_COLOR},
            "opacity": 0.55,
            "customdata": added_text,
            "hovertemplate": "%{y} added: %{customdata}<extra></extra>",
        },
        {
            "type": "bar",
            "name": "Removed or skipped",
            "x": day_x,
            "y": dropped,
            "marker": {"color": REMOVED_COLOR},
            "opacity": 0.55,
            "customdata": dropped_text,
            "hovertemplate": "%{y} removed: %{customdata}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Ideal",
            "x": [_iso(m) for m, _ in ideal],
            "y": [v for _, v in ideal],
            "line": {"color": "#9ca3af", "dash": "dash", "width": 1.5},
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Open tickets",
            "x": xs,
            "y": remaining,
            "line": {"color": ACCENT, "width": 2.5},
            "marker": {"size": 6},
            "hovertemplate": "%{y} open<extra></extra>",
        },
    ]
    layout = _layout(
        "Burndown: open tickets",
        height=height,
        barmode="relative",
        xaxis=_axis(type="date", tickformat="%a %d %b"),
        yaxis=_axis("tickets", rangemode="tozero"),
    )
    return {"data": data, "layout": layout}


def burnup_figure(progress: SprintProgress, *, names: Mapping[int, str] | None = None, height: int = 320) -> dict:
    """Scope and done tickets at each day's end: the gap is the work left, steps in the scope
    line are tickets added or removed (hover names them)."""
    names = names or {}
    xs = [_iso(progress.start)] + [_iso(d.shown_at) for d in progress.days]
    scope = [progress.start_scope] + [d.scope for d in progress.days]
    done = [progress.start_done] + [d.done for d in progress.days]
    changes = ["committed: " + _keys(progress.committed, names) if progress.committed else "nothing committed"]
    for d in progress.days:
        parts = []
        if d.added:
            parts.append("+ " + _keys(d.added, names))
        if d.removed or d.skipped_today:
            parts.append("− " + _keys([*d.removed, *d.skipped_today], names))
        changes.append("; ".join(parts) or "no scope change")
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Scope",
            "x": xs,
            "y": scope,
            "line": {"color": "#0f172a", "width": 2, "shape": "hv"},
            "marker": {"size": 5},
            "customdata": changes,
            "hovertemplate": "scope %{y}<br>%{customdata}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Done",
            "x": xs,
            "y": done,
            "fill": "tozeroy",
            "fillcolor": "rgba(22,163,74,0.12)",
            "line": {"color": "#16a34a", "width": 2.5, "shape": "hv"},
            "marker": {"size": 5},
            "hovertemplate": "%{y} done<extra></extra>",
        },
    ]
    layout = _layout(
        "Burnup: scope and done",
        height=height,
        xaxis=_axis(type="date", tickformat="%a %d %b"),
        yaxis=_axis("tickets", rangemode="tozero"),
    )
    return {"data": data, "layout": layout}


def ticket_mix_figure(
    rows: Sequence[tuple[str, Mapping[str, int]]],
    *,
    statuses: Sequence[tuple[str, str]],
    title: str = "Tickets by work type and status",
    height: int | None = None,
) -> dict:
    """Horizontal stacked bars: one bar per row label (e.g. a work type), one colour per status.

    ``statuses`` gives the stack order as ``(value, label)`` pairs.
    """
    labels = [label for label, _ in rows]
    data = []
    for value, status_label in statuses:
        counts = [counts.get(value, 0) for _, counts in rows]
        if not any(counts):
            continue
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": status_label,
                "y": labels,
                "x": counts,
                "marker": {"color": STATUS_COLORS.get(value, ACCENT)},
                "hovertemplate": f"%{{y}}: %{{x}} {status_label.lower()}<extra></extra>",
            }
        )
    layout = _layout(
        title,
        height=height or max(180, 60 + 34 * len(labels)),
        barmode="stack",
        xaxis=_axis("tickets", dtick=1 if sum(sum(c.values()) for _, c in rows) <= 12 else None),
        yaxis=_axis(autorange="reversed"),
        margin={"l": 150, "r": 20, "t": 44, "b": 44},
    )
    return {"data": data, "layout": layout}


# --- Results: challengers and the champion ---------------------------------------------
def _error(points: Sequence[MetricPoint]) -> dict:
    plus = [None if p.high is None or p.value is None else _num(p.high - p.value) for p in points]
    minus = [None if p.low is None or p.value is None else _num(p.value - p.low) for p in points]
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
        lows = [_num(c.low if c.low is not None else c.value) for c in champions]
        highs = [_num(c.high if c.high is not None else c.value) for c in champions]
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
                "y": [_num(c.value) for c in champions],
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
                "y": [_num(p.value) for p in points],
                "error_y": {**_error(points), "color": VERDICT_COLORS[verdict]},
                "marker": {"color": VERDICT_COLORS[verdict], "size": 10, "line": {"color": "#fff", "width": 1}},
                "customdata": [[p.label, p.ticket, _interval_text(p)] for p in points],
                "hovertemplate": (
                    f"%{{customdata[0]}} %{{customdata[1]}}<br>{metric} %{{y:.4g}}%{{customdata[2]}}<extra></extra>"
                ),
            }
        )
    layout = _layout(
        title or f"Challengers on {metric}",
        height=height,
        xaxis=_axis(type="category", showticklabels=len(xs) <= 12, tickangle=-20),
        yaxis=_axis(metric),
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
        xs.append(_iso(promotion.at))
        ys.append(_num(promotion.value))
        lows.append(_num(promotion.low if promotion.low is not None else promotion.value))
        highs.append(_num(promotion.high if promotion.high is not None else promotion.value))
        labels.append(f"{promotion.label} {promotion.ticket}".strip())
    if ordered and until > ordered[-1].at:
        xs.append(_iso(until))
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
    title: str = "",
    height: int = 400,
    max_sprint_labels: int = 14,
) -> dict:
    """The champion's primary metric over time as a step line with its interval band, every
    challenger as a point (interval bar, verdict colour), promotions annotated with their
    ticket, and the sprints as alternating bands in the background."""
    xs, ys, lows, highs, labels = champion_steps(promotions, until=until)
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
                "x": [_iso(p.at) for p in points],
                "y": [_num(p.value) for p in points],
                "error_y": {**_error(points), "color": VERDICT_COLORS[verdict]},
                "marker": {"color": VERDICT_COLORS[verdict], "size": 7, "opacity": 0.85},
                "customdata": [[p.label, p.ticket, _interval_text(p)] for p in points],
                "hovertemplate": (
                    f"%{{customdata[0]}} %{{customdata[1]}}<br>{metric} %{{y:.4g}}%{{customdata[2]}}<extra></extra>"
                ),
            }
        )
    annotations = []
    for promotion in sorted(promotions, key=lambda p: p.at)[1:]:
        annotations.append(
            {
                "x": _iso(promotion.at),
                "y": _num(promotion.value),
                "text": f"↑ {promotion.ticket or promotion.label}",
                "showarrow": True,
                "arrowhead": 2,
                "ax": 0,
                "ay": -32,
                "font": {"size": 11, "color": ACCENT},
                "bgcolor": "rgba(255,255,255,0.85)",
            }
        )
    shapes = []
    every = max(1, math.ceil(len(sprints) / max_sprint_labels))
    for index, span in enumerate(sprints):
        x0 = _iso(span.start)
        x1 = _iso(span.end + datetime.timedelta(days=1))
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
                    "x": _iso(span.start + (span.end - span.start) / 2),
                    "y": 1.0,
                    "xref": "x",
                    "yref": "paper",
                    "yanchor": "bottom",
                    "text": span.name,
                    "showarrow": False,
                    "font": {"size": 10, "color": "#6b7280"},
                }
            )
    layout = _layout(
        title or f"Champion {metric}, sprint by sprint",
        height=height,
        xaxis=_axis(type="date"),
        yaxis=_axis(metric),
        shapes=shapes,
        annotations=annotations,
        margin={"l": 55, "r": 20, "t": 64, "b": 44},
    )
    layout["title"]["y"] = 0.98
    return {"data": data, "layout": layout}


def sprint_outcomes_figure(rows: Sequence[SprintOutcome], *, metric: str = "", height: int = 320) -> dict:
    """Per sprint: answered questions and shipped code tickets as bars, the champion's metric
    gain as a line on the right axis (no people, no points: what the team learned and shipped)."""
    names = [r.name for r in rows]
    data = [
        {
            "type": "bar",
            "name": "Questions answered",
            "x": names,
            "y": [r.answered for r in rows],
            "marker": {"color": "#0891b2"},
            "hovertemplate": "%{x}: %{y} answered<extra></extra>",
        },
        {
            "type": "bar",
            "name": "Code tickets shipped",
            "x": names,
            "y": [r.shipped for r in rows],
            "marker": {"color": "#16a34a"},
            "hovertemplate": "%{x}: %{y} shipped<extra></extra>",
        },
    ]
    most = max([0, *(r.answered for r in rows), *(r.shipped for r in rows)])
    layout = _layout(
        "What each sprint delivered",
        height=height,
        barmode="group",
        xaxis=_axis(type="category"),
        # Whole tickets: no 0.2 ticks on small counts.
        yaxis=_axis("tickets", rangemode="tozero", dtick=1 if most <= 10 else None),
    )
    if metric and any(r.gain is not None for r in rows):
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"Champion {metric} gain",
                "x": names,
                "y": [_num(r.gain) for r in rows],
                "yaxis": "y2",
                "connectgaps": False,
                "line": {"color": ACCENT, "width": 2},
                "marker": {"size": 7},
                "hovertemplate": f"%{{x}}: %{{y:+.4g}} {metric}<extra></extra>",
            }
        )
        layout["yaxis2"] = _axis(f"{metric} gain", overlaying="y", side="right", showgrid=False, zeroline=True)
        layout["margin"] = {**layout["margin"], "r": 60}
    return {"data": data, "layout": layout}


def outcomes_figure(counts: Mapping[str, int], *, labels: Mapping[str, str], height: int = 240) -> dict:
    """Answered questions by outcome, as a donut (empty outcomes left out)."""
    keys = [k for k in OUTCOME_COLORS if counts.get(k)]
    data = [
        {
            "type": "pie",
            "hole": 0.55,
            "labels": [labels.get(k, k) for k in keys],
            "values": [counts[k] for k in keys],
            "marker": {"colors": [OUTCOME_COLORS[k] for k in keys]},
            "sort": False,
            "textinfo": "value",
            "hovertemplate": "%{label}: %{value}<extra></extra>",
        }
    ]
    layout = _layout("Answers", height=height, showlegend=True, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    layout["legend"] = {"orientation": "v", "x": 1, "y": 0.5}
    return {"data": data, "layout": layout}
