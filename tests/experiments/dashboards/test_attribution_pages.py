"""Every page credits a promotion to the same sprint, by the one rule (tickets.attribution):
the sprint active when it was made, else "between sprints".

The story: Sprint 1 is planned to end on day 9 and closes that day at 17:00; a promotion made
at 20:00 the same day falls between sprints (Sprint 2 starts on day 14), even though Sprint 1's
planned dates still cover it.
"""

import datetime
import json
import re

import pytest

from experiments.models import ChampionChange, Run
from tests.experiments.dashboard_story import add_results, build_story, moment

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(cast):
    story = build_story(cast)
    benchmark = add_results(story)
    day = lambda n, hour=12: moment(story.s1_start + datetime.timedelta(days=n), hour)  # noqa: E731
    late = Run.objects.create(project=cast.project, name="late-fix", start_time=day(9), status="finished")
    ChampionChange.objects.create(
        benchmark=benchmark,
        run=late,
        run_name="late-fix",
        previous_run_name="dwell-rule",
        promoted_by=cast.lead,
        promoted_at=day(9, 20),
        gate_allowed=True,
        primary_metric="auc",
        primary_value=0.82,
    )
    # The challenger promoted in Sprint 2 now replaces late-fix (0.82 → 0.86).
    type(benchmark).objects.filter(pk=benchmark.pk).update(champion=Run.objects.get(name="gbm"))
    story.benchmark = benchmark
    return story


def test_the_champion_history_credits_each_promotion_by_the_rule(story, web):
    page = web(story.cast.stakeholder).get(f"/p/AUTH/benchmarks/{story.benchmark.pk}/").content.decode()
    rows = re.findall(r'<tr data-change="\d+">.*?<strong>([^<]+)</strong>.*?data-col="sprint">([^<]+)</td>', page, re.S)
    assert rows == [("gbm", "Sprint 2"), ("late-fix", "Between sprints"), ("dwell-rule", "Sprint 1")]
    assert re.search(r'data-testid="credited"> during Sprint 2<', page)


def test_the_kaizen_table_credits_the_gain_to_the_same_sprints(story, web):
    page = web(story.cast.stakeholder).get("/p/AUTH/dashboard/").content.decode()

    def gain_of(row: str) -> str:
        found = re.search(rf'<tr data-sprint="{row}".*?</tr>', page, re.S).group(0)
        return re.findall(r'font-monospace[^"]*">([^<]+)</td>', found)[0]

    assert gain_of(story.s1.pk) == "±0"  # the baseline only: a start, not a gain
    assert gain_of("between") == "+0.02"  # late-fix, made after Sprint 1 closed
    assert gain_of(story.s2.pk) == "+0.04"  # gbm over late-fix, not over the baseline


def test_the_kaizen_chart_says_the_same_and_draws_sprints_as_they_ran(story, web):
    page = web(story.cast.stakeholder).get("/p/AUTH/dashboard/").content.decode()
    pattern = rf'<script id="champion-{story.benchmark.pk}" type="application/json">(.*?)</script>'
    script = re.search(pattern, page, re.S)
    figure = json.loads(script.group(1))
    hovers = [a["hovertext"] for a in figure["layout"]["annotations"] if "hovertext" in a]
    assert hovers == ["late-fix became champion between sprints", "gbm became champion during Sprint 2"]
    champion = next(trace for trace in figure["data"] if trace.get("name") == "Champion")
    assert champion["customdata"][:3] == [
        "dwell-rule AUTH-2 · during Sprint 1",
        "late-fix · between sprints",
        "gbm AUTH-6 · during Sprint 2",
    ]
    # Sprint 1's band ends when it closed, before late-fix was promoted.
    [band] = [s for s in figure["layout"]["shapes"] if s["type"] == "rect"][:1]
    assert band["x1"] == story.s1.closed_at.isoformat()


def test_the_sprint_pages_show_the_same_gain(story, web):
    client = web(story.cast.stakeholder)
    for url in (f"/p/AUTH/dashboard/sprints/{story.s1.pk}/", f"/p/AUTH/demo/sprints/{story.s1.pk}/"):
        page = client.get(url).content.decode()
        assert "+0.02" not in page, url
    page = client.get(f"/p/AUTH/dashboard/sprints/{story.s2.pk}/").content.decode()
    assert "+0.04" in page
