"""The sprint dashboard on day one of a running sprint: one tick per day on the burnup, open work
called open (not carried over), and error pages that fetch nothing missing."""

import pytest

from tests.browser.conftest import login
from tests.browser.test_planning import plan  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_on_day_one_the_burnup_names_each_day_once(page, cast, plan):  # noqa: F811
    login(page, "stakeholder")
    page.goto(f"/p/AUTH/dashboard/sprints/{plan['active'].pk}/")
    for chart in ("burnup", "burndown"):
        ticks = page.locator(f"[data-figure={chart}] .xtick text")
        ticks.first.wait_for()
        labels = ticks.evaluate_all("texts => texts.map(t => t.textContent)")
        assert len(labels) == len(set(labels)) >= 2, labels


def test_a_running_sprint_calls_its_unfinished_work_open(page, cast, plan):  # noqa: F811
    login(page, "stakeholder")
    for url in (f"/p/AUTH/dashboard/sprints/{plan['active'].pk}/", f"/p/AUTH/demo/sprints/{plan['active'].pk}/"):
        page.goto(url)
        assert page.locator("[data-bucket=carried_over]").count() == 0
        assert page.locator("[data-bucket=open]").first.inner_text().strip() == "2"
        assert "Unfinished at the end" not in page.content()


def test_an_error_page_requests_nothing_that_is_missing(page, cast):
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    login(page, "stakeholder")
    page.goto("/p/NOPE/board/")
    page.wait_for_load_state("networkidle")
    assert [url for url in missing if not url.endswith("/p/NOPE/board/")] == []
