"""In a real browser: an online test's dashboard updates by itself while production sends events and a
worker aggregates them; it works on a phone-sized screen and shows a hostile name as text."""

from __future__ import annotations

import pytest

from experiments.abtests.models import OnlineTest
from tests.browser.conftest import login
from tests.experiments.abtests.helpers import events, jsonl, make_test

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

HOSTILE = "x');alert(1);('"


def _send(api, user, test, rows) -> None:
    response = api(user).generic(
        "POST", f"/api/v1/abtests/{test.pk}/events/", jsonl(rows).encode(), content_type="application/x-ndjson"
    )
    assert response.status_code == 200, response.content


def _events_shown(page, count: int) -> None:
    page.locator("[data-testid=abtest-events]", has_text=f"{count} events").wait_for(timeout=60_000)


def test_the_dashboard_updates_while_events_arrive(page, api, cast, celery_worker):
    test = make_test(cast.project, cast.lead, start=True, name=HOSTILE)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(page, "stakeholder")
    page.goto(f"/p/AUTH/abtests/{test.pk}/")
    assert page.locator("[data-testid=abtest-name]").inner_text() == HOSTILE
    assert page.locator("[data-testid=abtest-events]").inner_text() == "0 events"
    assert page.locator("[data-testid=abtest-stop-form]").count() == 0  # stakeholders read only

    rows = events(test, 3000)
    _send(api, cast.engineer, test, rows[:1500])
    _events_shown(page, 1500)  # no reload: the page polls
    chart = page.locator("[data-testid=abtest-chart]")
    chart.wait_for()
    page.locator("[data-testid=abtest-chart][data-ready='1']").wait_for(timeout=30_000)
    first_units = page.locator("[data-testid=arm-units]").all_inner_texts()
    assert sum(int(u) for u in first_units) == 1500

    _send(api, cast.engineer, test, rows[1500:])
    _events_shown(page, 3000)
    page.locator("[data-testid=abtest-chart][data-ready='1']").wait_for(timeout=30_000)
    assert sum(int(u) for u in page.locator("[data-testid=arm-units]").all_inner_texts()) == 3000
    # Two looks drawn: the band over time has a point per aggregation.
    points = page.evaluate("() => document.querySelector('[data-testid=abtest-chart]').data[2].x.length")
    assert points == OnlineTest.objects.get(pk=test.pk).snapshots.count() >= 2
    assert page.locator("[data-testid=abtest-srm][data-flagged='0']").count() == 1
    assert "ship_challenger" in page.locator("[data-testid=abtest-recommendation]").inner_text()
    assert dialogs == []


def test_a_lead_stops_the_test_on_a_phone(page, api, cast, celery_worker):
    test = make_test(cast.project, cast.lead, start=True, name=HOSTILE)
    _send(api, cast.engineer, test, events(test, 400))
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "lead")
    page.goto(f"/p/AUTH/abtests/{test.pk}/")
    _events_shown(page, 400)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page scrolls sideways ({width}px)"
    form = page.locator("[data-testid=abtest-stop-form]")
    form.locator("select[name=decision]").select_option("keep_champion")
    form.locator("input[name=note]").fill(HOSTILE)
    form.locator("[data-testid=abtest-stop]").click()
    decision = page.locator("[data-testid=abtest-decision]")
    decision.wait_for()
    assert "Keep the champion" in decision.inner_text() and HOSTILE in decision.inner_text()
    assert OnlineTest.objects.get(pk=test.pk).state == "stopped"


def test_an_engineer_uploads_a_day_of_events_and_sees_a_bad_line_named(page, cast, tmp_path):
    test = make_test(cast.project, cast.lead, start=True)
    rows = events(test, 20)
    rows[4]["variant"] = "nobody"
    bad = tmp_path / "day.jsonl"
    bad.write_text(jsonl(rows))
    login(page, "engineer")
    page.goto(f"/p/AUTH/abtests/{test.pk}/upload/")
    page.locator("input[type=file]").set_input_files(str(bad))
    page.locator("[data-testid=upload-form] button[type=submit]").click()
    error = page.locator("[data-testid=upload-error]")
    error.wait_for()
    assert "line 5, variant" in error.inner_text() and "Nothing was stored." in error.inner_text()
    rows[4]["variant"] = "champion"
    bad.write_text(jsonl(rows))
    page.locator("input[type=file]").set_input_files(str(bad))
    page.locator("[data-testid=upload-form] button[type=submit]").click()
    page.wait_for_url(f"**/p/AUTH/abtests/{test.pk}/")
    assert "20 new events stored" in page.content()


def test_online_tests_are_listed_on_the_benchmark_ticket_and_dashboard_pages(page, cast):
    from tests.experiments.benchmark_helpers import make_run
    from tests.factories import TicketFactory

    ticket = TicketFactory(project=cast.project, title="Ship the new model")
    runs = [make_run(cast.project, cast.lead, "old"), make_run(cast.project, cast.lead, "new", ticket.key)]
    test = make_test(cast.project, cast.lead, runs=runs, start=True, name=HOSTILE)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "stakeholder")
    for url, testid in (
        (f"/p/AUTH/benchmarks/{test.benchmark.pk}/", "benchmark-abtests"),
        (f"/t/{ticket.key}/", "ticket-abtests"),
        ("/p/AUTH/dashboard/", "project-abtests"),
    ):
        page.goto(url)
        link = page.locator(f"[data-testid={testid}] a", has_text=HOSTILE)
        link.wait_for()
        assert link.get_attribute("href") == f"/p/AUTH/abtests/{test.pk}/"
    page.locator("[data-testid=project-abtests] a").first.click()
    page.wait_for_url(f"**/p/AUTH/abtests/{test.pk}/")
    assert page.locator("[data-testid=abtest-name]").inner_text() == HOSTILE
    assert dialogs == []


@pytest.mark.parametrize("width", [1400, 390])
def test_an_engineer_creates_a_draft_from_the_benchmark_page(page, cast, width):
    from tests.experiments.benchmark_helpers import make_benchmark, make_run

    bench = make_benchmark(cast.project, cast.lead)
    champion = make_run(cast.project, cast.engineer, "rule")
    challenger = make_run(cast.project, cast.engineer, "model")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.set_viewport_size({"width": width, "height": 900})
    login(page, "engineer")
    page.goto(f"/p/AUTH/benchmarks/{bench.pk}/")
    page.locator("[data-testid=abtest-new]").click()
    form = page.locator("[data-testid=abtest-new-form]")
    form.wait_for()
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    page.fill("#id_name", HOSTILE)
    page.fill("#id_champion", "rule")
    form.get_by_role("option", name=f"#{champion.pk} rule").click()
    page.fill("#id_challenger", str(challenger.pk))
    form.get_by_role("option", name=f"#{challenger.pk} model").wait_for()
    page.locator("#id_challenger").press("ArrowDown")
    page.locator("#id_challenger").press("Enter")
    assert page.locator("#id_challenger").input_value() == f"#{challenger.pk} model"
    page.fill("#id_outcome", "authenticated")
    page.fill("#id_min_effect", "0.02")
    form.locator("button[type=submit]").click()
    page.locator("[data-testid=abtest-name]").wait_for()
    assert page.locator("[data-testid=abtest-name]").inner_text() == HOSTILE
    test = OnlineTest.objects.get()
    assert page.url.endswith(f"/p/AUTH/abtests/{test.pk}/")
    assert [a["run"] for a in test.arms] == [champion.pk, challenger.pk]
    assert dialogs == []
