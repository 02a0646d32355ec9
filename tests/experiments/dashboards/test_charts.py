"""Dashboard chart builders: pure functions turning progress and results into plotly figures."""

import datetime
import json

import plotly.graph_objects as go
import pytest

from experiments.dashboards import charts, result_charts
from tests.tickets.test_burndown import CLOSED, HISTORY, SPRINT, STARTED
from tickets.burndown import replay_sprint

UTC = datetime.UTC


def valid(figure: dict) -> dict:
    """The figure is strict JSON and a valid plotly figure (plotly rejects unknown properties)."""
    json.dumps(figure, allow_nan=False)
    go.Figure(figure)
    return figure


def trace(figure: dict, name: str) -> dict:
    return next(t for t in figure["data"] if t.get("name") == name)


@pytest.fixture
def progress():
    return replay_sprint(
        sprint_id=SPRINT,
        changes=HISTORY,
        start_date=datetime.date(2026, 11, 2),
        end_date=datetime.date(2026, 11, 6),
        started_at=STARTED,
        ended_at=CLOSED,
        closed=True,
        tz=UTC,
    )


NAMES = {n: f"AUTH-{n}" for n in range(1, 8)}


def test_burndown_draws_open_tickets_against_the_ideal_line(progress):
    figure = valid(charts.burndown_figure(progress, names=NAMES))
    line = trace(figure, "Open tickets")
    assert line["y"] == [4, 3, 5, 3, 3, 2]
    assert line["x"][0] == "2026-11-02T00:00:00+00:00"
    assert line["x"][-1] == CLOSED.isoformat()  # the sprint closed on Friday at 17:00
    ideal = trace(figure, "Ideal")
    assert ideal["y"] == [4.0, 0.0]


def test_burndown_shows_scope_added_and_removed_per_day_with_ticket_keys(progress):
    figure = valid(charts.burndown_figure(progress, names=NAMES))
    added, dropped = trace(figure, "Added"), trace(figure, "Removed or skipped")
    assert added["y"] == [0, 2, 0, 0, 0]
    assert added["customdata"][1] == "AUTH-5, AUTH-7"
    assert dropped["y"] == [0, 0, -2, 0, 0]
    assert dropped["customdata"][2] == "AUTH-3, AUTH-4"
    assert figure["layout"]["barmode"] == "relative"


def test_burnup_draws_scope_and_done_as_steps(progress):
    figure = valid(charts.burnup_figure(progress, names=NAMES))
    scope, done = trace(figure, "Scope"), trace(figure, "Done")
    assert scope["y"] == [5, 5, 7, 5, 5, 5]
    assert done["y"] == [1, 2, 2, 2, 2, 3]
    assert scope["line"]["shape"] == "hv"
    assert scope["customdata"][0] == "committed: AUTH-1, AUTH-2, AUTH-3, AUTH-4, AUTH-6"
    assert scope["customdata"][2] == "+ AUTH-5, AUTH-7"
    assert scope["customdata"][3] == "− AUTH-3, AUTH-4"


def test_a_running_sprint_ends_its_lines_now():
    now = datetime.datetime(2026, 11, 4, 13, 30, tzinfo=UTC)
    running = replay_sprint(
        sprint_id=SPRINT,
        changes=HISTORY,
        start_date=datetime.date(2026, 11, 2),
        end_date=datetime.date(2026, 11, 6),
        started_at=STARTED,
        ended_at=now,
        closed=False,
        tz=UTC,
    )
    figure = valid(charts.burndown_figure(running))
    assert trace(figure, "Open tickets")["x"][-1] == now.isoformat()
    assert trace(figure, "Ideal")["x"][-1] == "2026-11-07T00:00:00+00:00"


def test_ticket_mix_stacks_statuses_and_leaves_out_empty_ones():
    rows = [("Data exploration", {"done": 2, "todo": 1}), ("Deployment", {"todo": 3})]
    statuses = [("todo", "To do"), ("in_progress", "In progress"), ("done", "Done")]
    figure = valid(charts.ticket_mix_figure(rows, statuses=statuses))
    assert [t["name"] for t in figure["data"]] == ["To do", "Done"]
    assert trace(figure, "To do")["x"] == [1, 3]
    assert trace(figure, "Done")["x"] == [2, 0]
    assert figure["layout"]["barmode"] == "stack"


def moment(day, hour=12):
    return datetime.datetime(2026, 11, day, hour, tzinfo=UTC)


CHAMPION_A = charts.MetricPoint(moment(1), 0.80, 0.78, 0.82, "baseline")
CHAMPION_B = charts.MetricPoint(moment(4), 0.85, 0.83, 0.87, "gbm", ticket="AUTH-4")
CHALLENGERS = [
    charts.MetricPoint(moment(3), 0.85, 0.83, 0.87, "gbm", "better", "AUTH-4"),
    charts.MetricPoint(moment(5), 0.84, 0.82, 0.86, "gbm-small", "no_significant_difference", "AUTH-6"),
    charts.MetricPoint(moment(6), 0.70, 0.67, 0.73, "rules", "worse", "AUTH-7"),
    charts.MetricPoint(moment(6), float("nan"), None, None, "queued", "pending"),
]


def test_challengers_are_coloured_by_verdict_with_interval_bars():
    figure = valid(
        result_charts.challengers_figure(CHALLENGERS, [CHAMPION_A, CHAMPION_B, CHAMPION_B, CHAMPION_B], metric="auc")
    )
    better = trace(figure, "Better than the champion")
    assert better["y"] == [0.85]
    assert better["marker"]["color"] == charts.VERDICT_COLORS["better"]
    assert better["error_y"]["array"] == [pytest.approx(0.02)]
    assert better["error_y"]["arrayminus"] == [pytest.approx(0.02)]
    assert trace(figure, "Worse than the champion")["marker"]["color"] == charts.VERDICT_COLORS["worse"]
    # NaN is not JSON: a missing value is drawn as a gap.
    assert trace(figure, "Not compared yet")["y"] == [None]
    champion = trace(figure, "Champion")
    assert champion["y"] == [0.80, 0.85, 0.85, 0.85]
    assert champion["customdata"][0] == "baseline"


def test_challengers_need_one_champion_each():
    with pytest.raises(ValueError, match="one reference point per challenger"):
        result_charts.challengers_figure(CHALLENGERS, [CHAMPION_A], metric="auc")


def test_no_challengers_gives_an_empty_but_valid_figure():
    figure = valid(result_charts.challengers_figure([], [], metric="auc"))
    assert figure["data"] == []


PROMOTIONS = [
    charts.Promotion(moment(1), 0.80, 0.78, 0.82, "baseline", "AUTH-1"),
    charts.Promotion(moment(4), 0.85, 0.83, 0.87, "gbm", "AUTH-4"),
]


def test_champion_steps_hold_each_value_until_the_next_promotion():
    xs, ys, lows, highs, labels = result_charts.champion_steps(PROMOTIONS, until=moment(10))
    assert xs == [moment(1).isoformat(), moment(4).isoformat(), moment(10).isoformat()]
    assert ys == [0.80, 0.85, 0.85]
    assert lows == [0.78, 0.83, 0.83]
    assert highs == [0.82, 0.87, 0.87]
    assert labels == ["baseline AUTH-1", "gbm AUTH-4", "gbm AUTH-4"]


def test_champion_progress_annotates_promotions_with_their_tickets_and_shades_sprints():
    sprints = [
        charts.SprintSpan("Sprint 1", datetime.date(2026, 11, 2), datetime.date(2026, 11, 6)),
        charts.SprintSpan("Sprint 2", datetime.date(2026, 11, 9), datetime.date(2026, 11, 13)),
    ]
    figure = valid(
        result_charts.champion_progress_figure(
            metric="auc", promotions=PROMOTIONS, challengers=CHALLENGERS, sprints=sprints, until=moment(12)
        )
    )
    champion = trace(figure, "Champion")
    assert champion["line"]["shape"] == "hv"
    assert champion["y"] == [0.80, 0.85, 0.85]
    texts = [a["text"] for a in figure["layout"]["annotations"]]
    # The baseline is not a promotion over anything; the second champion is.
    assert "↑ AUTH-4" in texts and "↑ AUTH-1" not in texts
    assert "Sprint 1" in texts and "Sprint 2" in texts
    assert len(figure["layout"]["shapes"]) == 1  # alternate sprints are shaded
    assert trace(figure, "No significant difference")["x"] == [moment(5).isoformat()]
    assert trace(figure, "Champion interval (95%)")["fill"] == "tonexty"


def test_many_sprints_get_thinned_labels():
    start = datetime.date(2026, 1, 5)
    sprints = [
        charts.SprintSpan(f"S{i}", start + datetime.timedelta(days=14 * i), start + datetime.timedelta(days=14 * i + 9))
        for i in range(50)
    ]
    figure = valid(
        result_charts.champion_progress_figure(
            metric="auc", promotions=[], challengers=[], sprints=sprints, until=moment(1), max_sprint_labels=10
        )
    )
    labels = [a["text"] for a in figure["layout"]["annotations"]]
    assert labels == [f"S{i}" for i in range(0, 50, 5)]


def test_sprint_outcomes_show_learning_shipping_and_gain_without_people():
    rows = [
        charts.SprintOutcome("Sprint 1", answered=2, shipped=1, gain=None),
        charts.SprintOutcome("Sprint 2", answered=1, shipped=3, gain=0.05),
    ]
    figure = valid(charts.sprint_outcomes_figure(rows, metric="auc"))
    assert trace(figure, "Questions answered")["y"] == [2, 1]
    assert trace(figure, "Code tickets shipped")["y"] == [1, 3]
    gain = trace(figure, "Champion auc gain")
    assert gain["y"] == [None, 0.05]
    assert gain["yaxis"] == "y2"
    without_results = valid(charts.sprint_outcomes_figure(rows))
    assert len(without_results["data"]) == 2 and "yaxis2" not in without_results["layout"]


def test_outcomes_donut_leaves_out_empty_outcomes():
    figure = valid(
        charts.outcomes_figure(
            {"supported": 3, "refuted": 0, "inconclusive": 1},
            labels={"supported": "Supported", "inconclusive": "Inconclusive"},
        )
    )
    assert figure["data"][0]["labels"] == ["Supported", "Inconclusive"]
    assert figure["data"][0]["values"] == [3, 1]
