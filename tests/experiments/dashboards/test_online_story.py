"""Online tests in the champion's story: the stakeholder demo (members and share links) and the
sprint dashboard show them beside the offline evaluations, in plain words, at a fixed query cost."""

import datetime
import html

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from experiments.abtests import services as abtest_services
from experiments.abtests.models import OnlineTest
from experiments.benchmarks.models import ChampionChange
from experiments.dashboards import services as dashboard_services
from experiments.tracking.models import Run
from tests.experiments.abtests.helpers import events, jsonl, make_test
from tests.experiments.benchmark_helpers import make_run
from tests.experiments.dashboard_story import add_results, build_story, moment
from tickets import clock

pytestmark = pytest.mark.django_db

HOSTILE = "x');alert(1);('"


@pytest.fixture
def story(cast):
    story = build_story(cast)
    story.benchmark = add_results(story)
    story.champion = Run.objects.get(project=cast.project, name="gbm")
    return story


def online_test(story, name: str = HOSTILE, n: int = 2000, challenger: str = "motion-v2"):
    """A running test of the champion against a new run, with ``n`` events aggregated."""
    project, lead = story.cast.project, story.cast.lead
    runs = [story.champion, make_run(project, lead, challenger)]
    test = make_test(project, lead, benchmark=story.benchmark, runs=runs, start=True, name=name)
    if n:
        abtest_services.events_ingest(test=test, body=jsonl(events(test, n)), content_type="application/x-ndjson")
        abtest_services.onlinetest_aggregate(test_id=test.pk)
    return test


def share_token(story, sprint=None) -> str:
    _, token = dashboard_services.share_link_create(
        project=story.cast.project,
        actor=story.cast.lead,
        sprint=sprint,
        label="Board",
        expires_at=clock.now() + datetime.timedelta(days=7),
    )
    return token


def rows(page: str) -> int:
    return page.count('data-testid="online-test-row"')


def test_the_demo_tells_a_running_test_in_plain_words(story, web):
    test = online_test(story)
    page = web(story.cast.stakeholder).get("/p/AUTH/demo/").content.decode()
    assert rows(page) == 1 and 'data-state="running"' in page
    # The difference in points with its always-valid confidence sequence, its verdict and the SRM check.
    analysis = OnlineTest.objects.get(pk=test.pk).analysis["challengers"][0]["primary"]
    estimate, low, high = (analysis[k] * 100 for k in ("estimate", "cs_low", "cs_high"))
    assert f"authenticated {estimate:+.1f} points [{low:+.1f}, {high:+.1f}], always-valid 95%" in page
    assert "sample ratio as planned" in page and "Decision: no decision yet" in page
    assert "motion-v2 against the champion gbm · 2,000 events" in page
    # Members follow the row to the test's page; the hostile name is text, never markup.
    assert f'<a href="/p/AUTH/abtests/{test.pk}/">{html.escape(HOSTILE)}</a>' in page
    assert HOSTILE not in page


def test_a_share_link_shows_the_tests_without_links_it_cannot_open(story):
    test = online_test(story)
    page = Client().get(f"/s/{share_token(story)}/").content.decode()
    assert rows(page) == 1 and html.escape(HOSTILE) in page and HOSTILE not in page
    assert f"/p/AUTH/abtests/{test.pk}/" not in page and "/p/AUTH/" not in page


def test_a_shipped_test_names_the_champion_change_it_led_to(story, web):
    test = online_test(story, name="Rhythm v2 live")
    change = ChampionChange.objects.create(
        benchmark=story.benchmark,
        run=test.benchmark.champion_changes.first().run,
        run_name="motion-v2",
        previous_run_name="gbm",
        promoted_at=moment(datetime.date(2026, 11, 20)),
        gate_allowed=True,
        primary_metric="auc",
    )
    OnlineTest.objects.filter(pk=test.pk).update(
        state="stopped", stopped_at=clock.now(), decision="ship", decision_variant="challenger", champion_change=change
    )
    page = web(story.cast.lead).get("/p/AUTH/demo/").content.decode()
    assert "Decision: shipped: motion-v2 replaced gbm as champion on Nov 20, 2026" in page
    assert 'data-state="stopped"' in page


def test_a_test_without_events_says_so(story, web):
    online_test(story, n=0)
    page = web(story.cast.stakeholder).get("/p/AUTH/demo/").content.decode()
    assert rows(page) == 1 and "authenticated: no events analysed yet" in page
    assert "sample ratio not checked yet" in page


def test_drafts_are_not_part_of_the_story(story, web):
    project, lead = story.cast.project, story.cast.lead
    runs = [story.champion, make_run(project, lead, "draft-run")]
    make_test(project, lead, benchmark=story.benchmark, runs=runs, name="Only a plan")
    page = web(story.cast.stakeholder).get("/p/AUTH/demo/").content.decode()
    assert rows(page) == 0 and "Only a plan" not in page


def test_the_sprint_dashboard_lists_the_tests_that_ran_during_the_sprint(story, web):
    current = online_test(story, name="Live in sprint 2")
    earlier = online_test(story, name="Ran in sprint 1", n=0, challenger="old-challenger")
    s1_day = lambda n: moment(story.s1_start + datetime.timedelta(days=n))  # noqa: E731
    OnlineTest.objects.filter(pk=earlier.pk).update(
        state="stopped", started_at=s1_day(3), stopped_at=s1_day(6), decision="keep_champion"
    )
    client = web(story.cast.stakeholder)
    sprint1 = client.get(f"/p/AUTH/dashboard/sprints/{story.s1.pk}/").content.decode()
    assert rows(sprint1) == 1 and "Ran in sprint 1" in sprint1 and "Live in sprint 2" not in sprint1
    assert "Decision: Keep the champion" in sprint1
    sprint2 = client.get(f"/p/AUTH/dashboard/sprints/{story.s2.pk}/").content.decode()
    assert rows(sprint2) == 1 and "Live in sprint 2" in sprint2 and f"/p/AUTH/abtests/{current.pk}/" in sprint2
    # A sprint that has not started has seen no test; the sprint's demo tells the same story as its dashboard.
    assert rows(client.get(f"/p/AUTH/dashboard/sprints/{story.s3.pk}/").content.decode()) == 0
    assert rows(client.get(f"/p/AUTH/demo/sprints/{story.s1.pk}/").content.decode()) == 1


@pytest.mark.parametrize("who", ["outsider", None])
def test_strangers_see_no_online_test(story, web, who):
    online_test(story)
    for url in ["/p/AUTH/demo/", f"/p/AUTH/dashboard/sprints/{story.s2.pk}/"]:
        response = web(story.cast.user(who) if who else None).get(url)
        assert response.status_code in (302, 404) and HOSTILE.encode() not in response.content


def count(client, url: str) -> int:
    """Queries of a full render (cached fragments dropped first)."""
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_online_tests_cost_a_fixed_number_of_queries(story, web):
    online_test(story, name="first")
    client = web(story.cast.stakeholder)
    token, sprint_token = share_token(story), share_token(story, sprint=story.s2)
    urls = ["/p/AUTH/demo/", f"/p/AUTH/demo/sprints/{story.s2.pk}/", f"/p/AUTH/dashboard/sprints/{story.s2.pk}/"]
    before = {url: count(client, url) for url in urls}
    shared_before = [count(Client(), f"/s/{token}/"), count(Client(), f"/s/{sprint_token}/")]
    for k in range(3):
        online_test(story, name=f"more {k}", n=50, challenger=f"challenger-{k}")
    page = client.get("/p/AUTH/demo/").content.decode()
    assert rows(page) == 4
    assert {url: count(client, url) for url in urls} == before
    assert [count(Client(), f"/s/{token}/"), count(Client(), f"/s/{sprint_token}/")] == shared_before


def test_the_difference_reads_in_points_or_units_at_the_corrected_level():
    from experiments.dashboards.online_story import difference_words

    arms = [{"variant": v, "run": k, "weight": 1} for k, v in enumerate(["champion", "a", "b"])]
    binary = OnlineTest(arms=arms[:2], primary={"name": "authenticated", "kind": "binary"}, alpha=0.05)
    d = {"metric": "authenticated", "estimate": 0.021, "cs_low": 0.004, "cs_high": 0.038, "reason": ""}
    assert difference_words(binary, d) == "authenticated +2.1 points [+0.4, +3.8], always-valid 95%"
    # Two challengers: each sequence is at alpha / 2; a continuous outcome keeps its own unit.
    latency = OnlineTest(arms=arms, primary={"name": "latency_ms", "kind": "continuous"}, alpha=0.05)
    d = {"metric": "latency_ms", "estimate": -3.25, "cs_low": -5.5, "cs_high": -1.0, "reason": ""}
    assert difference_words(latency, d) == "latency_ms -3.25 [-5.5, -1], always-valid 97.5%"
    assert difference_words(latency, {**d, "estimate": None, "reason": "too few units"}) == "latency_ms: too few units"
