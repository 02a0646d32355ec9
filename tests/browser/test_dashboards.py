"""Dashboards and the stakeholder demo in a real browser: as a stakeholder, and through a share
link while logged out. Charts must be drawn by plotly (its SVG present), pictures must load."""

from __future__ import annotations

import datetime

import pytest

from experiments.dashboards import services as dashboards_services
from tests.browser.conftest import login
from tests.experiments.dashboard_story import add_picture, add_results, build_story
from tickets import clock

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def story(cast):
    story = build_story(cast)
    story.benchmark = add_results(story)
    add_picture(story, "AUTH-1")
    add_picture(story, "AUTH-7", title="GBM against the rule")
    return story


def share(story, sprint=None) -> str:
    _, token = dashboards_services.share_link_create(
        project=story.cast.project,
        actor=story.cast.lead,
        sprint=sprint,
        expires_at=clock.now() + datetime.timedelta(days=7),
    )
    return f"/s/{token}/"


def charts_drawn(page, at_least: int) -> int:
    page.locator(".js-plotly-plot .main-svg").nth(at_least - 1).wait_for()
    return page.locator(".js-plotly-plot").count()


def pictures_loaded(page) -> list[int]:
    return page.eval_on_selector_all(".demo-figure img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")


def test_a_stakeholder_follows_the_project_and_sprint_dashboards(page, story):
    login(page, "stakeholder")
    page.goto("/p/AUTH/")
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url("**/p/AUTH/dashboard/")
    # The champion step chart and what each sprint delivered.
    assert charts_drawn(page, 2) == 2
    champion = page.locator("[data-testid=champion-chart] .js-plotly-plot")
    assert champion.locator(".scatterlayer .trace").count() >= 4  # band, champion, verdict groups
    # The promotion is annotated with its ticket.
    assert any("AUTH-6" in text for text in champion.locator(".annotation").all_text_contents())
    page.locator(f"[data-sprint='{story.s1.pk}'] a", has_text="Sprint 1").click()
    page.wait_for_url(f"**/p/AUTH/dashboard/sprints/{story.s1.pk}/")
    assert charts_drawn(page, 4) >= 4  # burndown, burnup, ticket mix, answers (+ challengers)
    assert page.locator("[data-testid=burndown] .js-plotly-plot .main-svg").count() >= 1
    assert page.locator("[data-bucket=carried_over]").first.inner_text() == "2"
    page.get_by_role("link", name="Sprint review").click()
    page.wait_for_url(f"**/p/AUTH/demo/sprints/{story.s1.pk}/")
    charts_drawn(page, 1)
    assert pictures_loaded(page) == [40]
    assert page.locator("[data-testid=review-form]").count() == 0  # stakeholders read only


def test_the_stakeholder_demo_prints_cleanly(page, story):
    login(page, "stakeholder")
    page.goto("/p/AUTH/demo/")
    charts_drawn(page, 1)
    assert all(width > 0 for width in pictures_loaded(page)) and len(pictures_loaded(page)) == 2
    page.emulate_media(media="print")
    assert not page.locator("button[data-print]").first.is_visible()
    assert not page.locator(".app-topbar").is_visible()
    assert page.locator("[data-testid=answered-questions]").is_visible()


def test_a_share_link_opens_the_demo_logged_out_with_charts_and_pictures(page, story):
    page.goto(share(story))
    assert page.locator("h1").first.inner_text() == "Continuous authentication"
    assert charts_drawn(page, 1) >= 1  # the champion's progress
    assert sorted(pictures_loaded(page)) == [40, 40]
    assert page.locator(".app-topbar").count() == 0 and page.locator("form").count() == 0
    assert "read-only demo" in page.locator(".shared-banner").inner_text()
    assert page.context.cookies() == []  # nothing to carry to another page
    page.goto("/p/AUTH/dashboard/")
    page.wait_for_url("**/login/**")


def test_a_sprint_share_link_shows_the_sprint_review(page, story):
    page.goto(share(story, sprint=story.s2))
    assert page.locator("h1").first.inner_text() == "Sprint 2"
    assert charts_drawn(page, 2) >= 2  # the burnup and the challengers of the sprint
    assert page.locator("[data-testid=challengers-chart] .js-plotly-plot .main-svg").count() >= 1
    assert pictures_loaded(page) == [40]


HOSTILE = "x');alert(1);('"


def _online_test(story):
    from experiments.abtests import services as abtest_services
    from experiments.tracking.models import Run
    from tests.experiments.abtests.helpers import events, jsonl, make_test
    from tests.experiments.benchmark_helpers import make_run

    project, lead = story.cast.project, story.cast.lead
    champion = Run.objects.get(project=project, name="gbm")
    runs = [champion, make_run(project, lead, "motion-v2")]
    test = make_test(project, lead, benchmark=story.benchmark, runs=runs, start=True, name=HOSTILE)
    abtest_services.events_ingest(test=test, body=jsonl(events(test, 2000)), content_type="application/x-ndjson")
    abtest_services.onlinetest_aggregate(test_id=test.pk)
    return test


@pytest.mark.parametrize("width", [1400, 390])
def test_the_demo_shows_the_online_test_beside_the_champion(page, story, width):
    """Members and share-link viewers see the running test's row, its hostile name inert, at phone width too."""
    test = _online_test(story)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.set_viewport_size({"width": width, "height": 844})
    login(page, "stakeholder")
    page.goto("/p/AUTH/demo/")
    row = page.locator("[data-testid=online-test-row]")
    assert row.count() == 1 and row.get_attribute("data-state") == "running"
    assert row.get_by_role("link", name=HOSTILE).get_attribute("href") == f"/p/AUTH/abtests/{test.pk}/"
    assert "always-valid 95%" in row.locator("[data-testid=online-test-difference]").inner_text()
    assert row.locator("[data-testid=online-test-srm]").inner_text() == "sample ratio as planned"
    assert row.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, "the page scrolls sideways"
    page.context.clear_cookies()
    page.goto(share(story))
    shared = page.locator("[data-testid=online-test-row]")
    assert shared.count() == 1 and HOSTILE in shared.inner_text() and shared.locator("a").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, "the page scrolls sideways"
    assert dialogs == []
