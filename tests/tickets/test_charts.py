"""The burndown replay, on hand-made histories (no database)."""

import datetime

import plotly.graph_objects as go

from tickets.charts import BurndownPoint, Change, burndown_figure, sprint_burndown

UTC = datetime.UTC
D = datetime.date


def at(day: int, hour: int = 12) -> datetime.datetime:
    return datetime.datetime(2026, 3, day, hour, tzinfo=UTC)


def created(ticket: int, when, sprint=None, status="todo") -> Change:
    return Change(ticket, when, "created", None, {"status": status, "sprint": sprint})


def test_a_sprint_burns_down_as_tickets_finish_and_scope_changes():
    changes = [
        created(1, at(1, 9), sprint=7),
        created(2, at(1, 9), sprint=7),
        created(3, at(1, 9)),  # backlog, pulled in on day 3
        Change(1, at(3), "status", "todo", "done"),
        Change(3, at(3, 14), "sprint", None, 7),
        Change(2, at(4), "status", "todo", "skipped"),
        Change(3, at(5), "sprint", 7, None),  # sent back to the backlog
    ]
    burndown = sprint_burndown(
        reversed(changes), sprint_id=7, started_at=at(2, 9), start=D(2026, 3, 2), end=D(2026, 3, 6), until=D(2026, 3, 9)
    )
    assert burndown.committed == 2
    assert burndown.points == [
        BurndownPoint(D(2026, 3, 2), open=2, scope=2),
        BurndownPoint(D(2026, 3, 3), open=2, scope=3),  # one done, one added
        BurndownPoint(D(2026, 3, 4), open=1, scope=3),
        BurndownPoint(D(2026, 3, 5), open=0, scope=2),
        BurndownPoint(D(2026, 3, 6), open=0, scope=2),
    ]


def test_a_running_sprint_stops_at_today():
    changes = [created(1, at(1), sprint=7)]
    burndown = sprint_burndown(
        changes, sprint_id=7, started_at=at(2, 9), start=D(2026, 3, 2), end=D(2026, 3, 13), until=D(2026, 3, 4)
    )
    assert [p.day for p in burndown.points] == [D(2026, 3, 2), D(2026, 3, 3), D(2026, 3, 4)]
    assert all(p.open == 1 for p in burndown.points)


def test_reopened_work_counts_again_and_other_sprints_do_not_count():
    changes = [
        created(1, at(1), sprint=7),
        created(2, at(1), sprint=8),
        Change(1, at(2, 10), "status", "todo", "done"),
        Change(1, at(3, 10), "status", "done", "in_progress"),
        Change(2, at(3, 10), "status", "todo", "done"),
    ]
    burndown = sprint_burndown(
        changes, sprint_id=7, started_at=at(2, 9), start=D(2026, 3, 2), end=D(2026, 3, 3), until=D(2026, 3, 3)
    )
    assert [(p.open, p.scope) for p in burndown.points] == [(0, 1), (1, 1)]


def test_an_empty_history_draws_an_empty_sprint():
    burndown = sprint_burndown(
        [], sprint_id=7, started_at=at(2), start=D(2026, 3, 2), end=D(2026, 3, 3), until=D(2026, 3, 3)
    )
    assert burndown.committed == 0 and [p.open for p in burndown.points] == [0, 0]


def test_the_figure_shows_ideal_scope_and_open_lines():
    changes = [created(1, at(1), sprint=7), Change(1, at(3), "status", "todo", "done")]
    burndown = sprint_burndown(
        changes, sprint_id=7, started_at=at(2), start=D(2026, 3, 2), end=D(2026, 3, 4), until=D(2026, 3, 4)
    )
    figure = burndown_figure(burndown)
    assert isinstance(figure, go.Figure)
    ideal, scope, still_open = figure.data
    assert ideal.name == "Ideal" and list(ideal.y) == [1, 0]
    assert list(scope.y) == [1, 1, 1]
    assert still_open.name == "Still open" and list(still_open.y) == [1, 0, 0]


def test_work_carried_over_at_the_close_still_counts_as_open_on_the_last_day():
    changes = [
        created(1, at(1), sprint=7),
        created(2, at(1), sprint=7),
        Change(1, at(3), "status", "todo", "done"),
        Change(2, at(4, 17), "sprint", 7, 8),  # carried over when the sprint closed
    ]
    burndown = sprint_burndown(
        changes,
        sprint_id=7,
        started_at=at(2, 9),
        start=D(2026, 3, 2),
        end=D(2026, 3, 4),
        until=D(2026, 3, 4),
        closed_at=at(4, 17),
    )
    assert [(p.open, p.scope) for p in burndown.points] == [(2, 2), (1, 2), (1, 2)]
