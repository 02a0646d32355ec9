"""The results side of the dashboards: champions sprint by sprint, challengers against them."""

import pytest

from experiments.dashboards.result_selectors import benchmark_progress
from tests.experiments.dashboard_story import add_results, build_story

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(cast):
    story = build_story(cast)
    add_results(story)
    return story


def test_the_champion_history_and_every_challenger_are_read_in_order(story):
    [progress] = benchmark_progress(project=story.cast.project)
    assert (progress.name, progress.metric, progress.higher_is_better) == ("holdout", "auc", True)
    assert [(p.label, p.value, p.ticket) for p in progress.promotions] == [
        ("dwell-rule", 0.80, "AUTH-2"),
        ("gbm", 0.86, "AUTH-6"),
    ]
    assert [(c.label, c.verdict, c.ticket) for c in progress.challengers] == [
        ("rule-tweak", "no_significant_difference", "AUTH-2"),
        ("gbm", "better", "AUTH-6"),
        ("motion", "worse", "AUTH-7"),
    ]
    # Each challenger is measured against the champion of the moment it was requested.
    assert [r.label for r in progress.references] == ["dwell-rule", "dwell-rule", "dwell-rule"]


def test_gain_per_sprint_is_the_champion_move_during_it(story):
    from experiments.dashboards.selectors import sprint_window
    from tickets import clock
    from tickets.models import Sprint

    [progress] = benchmark_progress(project=story.cast.project)
    now = clock.now()
    s1, s2 = Sprint.objects.get(pk=story.s1.pk), Sprint.objects.get(pk=story.s2.pk)
    periods = [s1.period, s2.period]
    assert progress.gain(s1.period, periods) == 0.0  # a baseline is a start, not a gain
    assert progress.gain(s2.period, periods) == pytest.approx(0.06)
    challengers, references = progress.challengers_between(*sprint_window(s2, now=now))
    assert [c.label for c in challengers] == ["gbm", "motion"] and len(references) == 2


def test_pages_show_the_champion_chart_and_the_sprint_challengers(story, web):
    client = web(story.cast.stakeholder)
    page = client.get("/p/AUTH/dashboard/").content.decode()
    assert 'data-testid="champion-chart"' in page and "\\u2191 AUTH-6" in page  # the promotion, annotated
    assert 'data-testid="champion-value">0.86<' in page
    assert "+0.06" in page  # Sprint 2's gain in the table
    sprint = client.get(f"/p/AUTH/dashboard/sprints/{story.s2.pk}/").content.decode()
    assert 'data-testid="challengers-chart"' in sprint and "2 evaluated" in sprint
    assert "Better than the champion" in sprint and "Worse than the champion" in sprint
    demo = client.get("/p/AUTH/demo/").content.decode()
    assert "went from 0.8 (baseline, dwell-rule) to 0.86 (gbm): +0.06, in 1 promotion." in demo


def test_results_add_a_fixed_number_of_queries(story, web):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = web(story.cast.stakeholder)
    with CaptureQueriesContext(connection) as queries:
        client.get("/p/AUTH/dashboard/")
    # The planning dashboard's 5, plus benchmarks, promotions and compared evaluations.
    assert len(queries) == 8
