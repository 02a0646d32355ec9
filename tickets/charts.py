"""Sprint burndown, replayed from ticket history. Pure Python and plotly: no Django here,
so it is tested directly on hand-made histories."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

import plotly.graph_objects as go

OPEN_STATUSES = frozenset({"todo", "in_progress", "review"})


@dataclass(frozen=True)
class Change:
    """One history row: ``field`` is ``created`` (``new`` is the initial state), ``sprint`` or ``status``.

    ``at`` must already be in the team's time zone: days are cut at its midnight.
    """

    ticket: int
    at: datetime.datetime
    field: str
    old: object
    new: object


@dataclass(frozen=True)
class BurndownPoint:
    day: datetime.date
    open: int  # tickets in the sprint, not done or skipped, at the end of the day
    scope: int  # tickets in the sprint at the end of the day


@dataclass(frozen=True)
class Burndown:
    committed: int  # tickets in the sprint when it started
    points: list[BurndownPoint]
    start: datetime.date
    end: datetime.date


def sprint_burndown(
    changes: Iterable[Change],
    *,
    sprint_id: int,
    started_at: datetime.datetime,
    start: datetime.date,
    end: datetime.date,
    until: datetime.date,
    closed_at: datetime.datetime | None = None,
) -> Burndown:
    """Replay ``changes`` (any order) and count the sprint's open tickets at the end of each day.

    Days run from ``start`` to the earlier of ``end`` and ``until`` (today, for a running sprint).
    ``committed`` is the sprint's size at ``started_at``. Changes from ``closed_at`` on are left
    out, so unfinished work carried over at the close still shows as open on the last day.
    A history without a ``created`` row for a ticket starts that ticket nowhere.
    """
    ordered = sorted((c for c in changes if closed_at is None or c.at < closed_at), key=lambda c: c.at)
    sprint_of: dict[int, object] = {}
    status_of: dict[int, object] = {}

    def apply(change: Change) -> None:
        if change.field == "created":
            state = change.new if isinstance(change.new, dict) else {}
            sprint_of[change.ticket] = state.get("sprint")
            status_of[change.ticket] = state.get("status", "todo")
        elif change.field == "sprint":
            sprint_of[change.ticket] = change.new
        elif change.field == "status":
            status_of[change.ticket] = change.new

    def count() -> tuple[int, int]:
        members = [t for t, s in sprint_of.items() if s == sprint_id]
        return sum(1 for t in members if status_of.get(t, "todo") in OPEN_STATUSES), len(members)

    index = 0
    while index < len(ordered) and ordered[index].at <= started_at:
        apply(ordered[index])
        index += 1
    committed = count()[1]

    points = []
    last = min(end, until)
    day = start
    while day <= last:
        while index < len(ordered) and ordered[index].at.date() <= day:
            apply(ordered[index])
            index += 1
        still_open, scope = count()
        points.append(BurndownPoint(day=day, open=still_open, scope=scope))
        day += datetime.timedelta(days=1)
    return Burndown(committed=committed, points=points, start=start, end=end)


def burndown_figure(burndown: Burndown) -> go.Figure:
    """Open tickets per day against the ideal line from the commitment to zero, with the scope."""
    days = [p.day for p in burndown.points]
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=[burndown.start, burndown.end],
            y=[burndown.committed, 0],
            name="Ideal",
            mode="lines",
            line={"dash": "dot", "color": "#9ca3af"},
            hoverinfo="skip",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=days,
            y=[p.scope for p in burndown.points],
            name="In the sprint",
            mode="lines",
            line={"shape": "hv", "dash": "dash", "color": "#a5b4fc"},
        )
    )
    figure.add_trace(
        go.Scatter(
            x=days,
            y=[p.open for p in burndown.points],
            name="Still open",
            mode="lines+markers",
            line={"shape": "hv", "color": "#4f46e5", "width": 3},
        )
    )
    figure.update_layout(
        margin={"l": 40, "r": 10, "t": 10, "b": 40},
        height=280,
        legend={"orientation": "h", "y": -0.2},
        yaxis={"title": "tickets", "rangemode": "tozero", "dtick": 1 if burndown.committed <= 12 else None},
        xaxis={"type": "date", "range": [burndown.start, burndown.end]},
        plot_bgcolor="#fff",
        paper_bgcolor="#fff",
        hovermode="x unified",
    )
    return figure
