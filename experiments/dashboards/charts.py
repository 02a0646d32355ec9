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
    """A sprint's band on a time chart: planned dates (``end`` inclusive) or, as datetimes,
    when it was active (``end`` exclusive)."""

    name: str
    start: datetime.date | datetime.datetime
    end: datetime.date | datetime.datetime


@dataclass(frozen=True)
class SprintOutcome:
    """What one sprint delivered: answered questions, shipped code tickets, metric gain."""

    name: str
    answered: int
    shipped: int
    gain: float | None


def json_number(value: float | None) -> float | None:
    """A JSON-safe number: NaN and infinities (which JSON cannot carry) become None."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def iso_time(moment: datetime.datetime | datetime.date) -> str:
    return moment.isoformat()


def axis(title: str = "", **extra) -> dict:
    return {"title": {"text": title}, "gridcolor": GRID, "zeroline": False, "automargin": True, **extra}


def base_layout(title: str, *, height: int, **extra) -> dict:
    layout = {
        "title": {"text": title, "font": {"size": 14}, "x": 0.01},
        "height": height,
        "margin": {"l": 55, "r": 20, "t": 44, "b": 44},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#ffffff",
        "hovermode": "closest",
        "legend": {"orientation": "h", "y": -0.18},
        "xaxis": axis(),
        "yaxis": axis(),
    }
    layout.update(extra)
    return layout


def _keys(tickets: Sequence[int], names: Mapping[int, str]) -> str:
    return ", ".join(names.get(t, f"#{t}") for t in tickets)


DAY_MS = 86_400_000


def day_axis(progress: SprintProgress) -> dict:
    """A date axis over the whole planned sprint, ticked by day: early in a sprint plotly would
    otherwise tick every few hours and print the same day under each tick."""
    last = max([progress.planned_end, *(d.shown_at for d in progress.days)])
    extra: dict = {"range": [iso_time(progress.start), iso_time(last)]}
    if (last - progress.start).days <= 15:
        extra.update(dtick=DAY_MS, tick0=iso_time(progress.start))
    return axis(type="date", tickformat="%a %d %b", **extra)


# --- Sprint: burndown, burnup, ticket mix ----------------------------------------------
def burndown_figure(progress: SprintProgress, *, names: Mapping[int, str] | None = None, height: int = 320) -> dict:
    """Open tickets left at each day's end against the ideal line, with scope changes as bars.

    Added tickets are bars above zero, tickets removed or skipped bars below, so a line that
    does not fall is explained by what came in.
    """
    names = names or {}
    xs = [iso_time(progress.start)] + [iso_time(d.shown_at) for d in progress.days]
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
            "x": [iso_time(m) for m, _ in ideal],
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
    layout = base_layout(
        "Burndown: open tickets",
        height=height,
        barmode="relative",
        xaxis=day_axis(progress),
        yaxis=axis("tickets", rangemode="tozero"),
    )
    return {"data": data, "layout": layout}


def burnup_figure(progress: SprintProgress, *, names: Mapping[int, str] | None = None, height: int = 320) -> dict:
    """Scope and done tickets at each day's end: the gap is the work left, steps in the scope
    line are tickets added or removed (hover names them)."""
    names = names or {}
    xs = [iso_time(progress.start)] + [iso_time(d.shown_at) for d in progress.days]
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
    layout = base_layout(
        "Burnup: scope and done",
        height=height,
        xaxis=day_axis(progress),
        yaxis=axis("tickets", rangemode="tozero"),
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
    layout = base_layout(
        title,
        height=height or max(180, 60 + 34 * len(labels)),
        barmode="stack",
        xaxis=axis("tickets", dtick=1 if sum(sum(c.values()) for _, c in rows) <= 12 else None),
        yaxis=axis(autorange="reversed"),
        margin={"l": 150, "r": 20, "t": 44, "b": 44},
    )
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
    layout = base_layout(
        "What each sprint delivered",
        height=height,
        barmode="group",
        xaxis=axis(type="category"),
        # Whole tickets: no 0.2 ticks on small counts.
        yaxis=axis("tickets", rangemode="tozero", dtick=1 if most <= 10 else None),
    )
    if metric and any(r.gain is not None for r in rows):
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"Champion {metric} gain",
                "x": names,
                "y": [json_number(r.gain) for r in rows],
                "yaxis": "y2",
                "connectgaps": False,
                "line": {"color": ACCENT, "width": 2},
                "marker": {"size": 7},
                "hovertemplate": f"%{{x}}: %{{y:+.4g}} {metric}<extra></extra>",
            }
        )
        layout["yaxis2"] = axis(f"{metric} gain", overlaying="y", side="right", showgrid=False, zeroline=True)
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
    layout = base_layout("Answers", height=height, showlegend=True, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    layout["legend"] = {"orientation": "v", "x": 1, "y": 0.5}
    return {"data": data, "layout": layout}
