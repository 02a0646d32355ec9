"""The online test's pages: the dashboard and its polled body, start and stop, the upload page, and the
panels on the benchmark and ticket pages; roles and query counts."""

from __future__ import annotations

import io

import pytest

from experiments.abtests import services
from experiments.abtests.models import OnlineEvent, OnlineTest
from tests.experiments.abtests.helpers import csv_text, events, jsonl, make_test
from tests.experiments.benchmark_helpers import make_run
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def _page(test, suffix: str = "") -> str:
    return f"/p/AUTH/abtests/{test.pk}/{suffix}"


def _file(text: str, name: str) -> io.BytesIO:
    handle = io.BytesIO(text.encode())
    handle.name = name
    return handle


@pytest.mark.parametrize(("who", "status"), [("lead", 200), ("engineer", 200), ("stakeholder", 200), ("outsider", 404)])
def test_every_member_reads_the_dashboard(web, cast, who, status):
    test = make_test(cast.project, cast.lead, start=True)
    response = web(cast.user(who)).get(_page(test))
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert 'data-testid="abtest-body"' in html and 'hx-trigger="every 2s"' in html
        assert ('data-testid="abtest-stop-form"' in html) == (who == "lead")
        assert ('data-testid="abtest-upload-link"' in html) == (who in ("lead", "engineer"))


def test_the_dashboard_shows_arms_difference_guardrails_and_a_loud_srm(web, cast):
    test = make_test(cast.project, cast.lead, start=True)
    rows = events(test, 3000)
    services.events_ingest(test=test, body=jsonl(rows[:1500]), content_type="application/x-ndjson")
    services.onlinetest_aggregate(test_id=test.pk)
    kept = [r for k, r in enumerate(rows[1500:]) if not (r["variant"] == "champion" and k % 2 == 0)]
    services.events_ingest(test=test, body=jsonl(kept), content_type="application/x-ndjson")
    services.onlinetest_aggregate(test_id=test.pk)
    html = web(cast.stakeholder).get(_page(test, "body/")).content.decode()
    assert 'data-testid="abtest-srm" data-flagged="1"' in html and "Sample-ratio mismatch" in html
    assert 'data-testid="abtest-chart"' in html and 'id="abtest-sequence"' in html
    assert 'data-testid="abtest-guardrails"' in html and "latency_ms" in html
    assert 'data-testid="abtest-difference"' in html


def test_a_stopped_test_stops_polling_and_shows_its_decision(web, cast):
    test = make_test(cast.project, cast.lead, start=True)
    response = web(cast.lead).post(_page(test, "stop/"), {"decision": "inconclusive", "note": "too little traffic"})
    assert response.status_code == 302
    html = web(cast.stakeholder).get(_page(test)).content.decode()
    assert "every 2s" not in html
    assert 'data-testid="abtest-decision"' in html and "too little traffic" in html


@pytest.mark.parametrize(("who", "status"), [("lead", 302), ("engineer", 403), ("stakeholder", 403), ("outsider", 404)])
def test_only_leads_start_from_the_page(web, cast, who, status):
    test = make_test(cast.project, cast.lead)
    assert web(cast.user(who)).post(_page(test, "start/")).status_code == status
    assert OnlineTest.objects.get(pk=test.pk).state == ("running" if status == 302 else "draft")


def test_a_refused_ship_is_shown_on_the_page_and_changes_nothing(web, cast):
    test = make_test(cast.project, cast.lead, start=True)
    response = web(cast.lead).post(_page(test, "stop/"), {"decision": "ship"})
    assert response.status_code == 400
    assert 'data-testid="abtest-stop-error"' in response.content.decode()
    assert OnlineTest.objects.get(pk=test.pk).state == "running"


def test_the_dashboard_costs_the_same_queries_whatever_the_history(web, cast, django_assert_num_queries):
    test = make_test(cast.project, cast.lead, start=True)
    client = web(cast.stakeholder)
    for k in range(2):
        services.events_ingest(test=test, body=jsonl(events(test, 300, start=300 * k)), content_type="text/plain")
        services.onlinetest_aggregate(test_id=test.pk)
    # session, user; membership with project; the test with its benchmark; run names; snapshots
    with django_assert_num_queries(6):
        client.get(_page(test, "body/"))
    for k in range(2, 6):
        services.events_ingest(test=test, body=jsonl(events(test, 300, start=300 * k)), content_type="text/plain")
        services.onlinetest_aggregate(test_id=test.pk)
    with django_assert_num_queries(6):
        assert client.get(_page(test, "body/")).status_code == 200


# --- upload -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "status"), [("lead", 302), ("engineer", 302), ("stakeholder", 403), ("outsider", 404)])
def test_engineers_and_leads_upload_event_files(web, cast, who, status):
    test = make_test(cast.project, cast.lead, start=True)
    client = web(cast.user(who))
    if status == 302:
        assert client.get(_page(test, "upload/")).status_code == 200
    response = client.post(_page(test, "upload/"), {"file": _file(csv_text(events(test, 50)), "day.csv")})
    assert response.status_code == status
    assert OnlineEvent.objects.count() == (50 if status == 302 else 0)


def test_a_bad_file_is_refused_by_line_and_nothing_is_stored(web, cast):
    test = make_test(cast.project, cast.lead, start=True)
    rows = events(test, 5)
    rows[2]["outcome"] = "0.5"
    response = web(cast.engineer).post(_page(test, "upload/"), {"file": _file(jsonl(rows), "day.jsonl")})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was stored." in html and "line 3, outcome: &#x27;0.5&#x27; must be 0 or 1" in html
    assert OnlineEvent.objects.count() == 0


def test_uploading_the_same_file_twice_stores_it_once(web, cast):
    test = make_test(cast.project, cast.lead, start=True)
    text = csv_text(events(test, 40))
    client = web(cast.engineer)
    client.post(_page(test, "upload/"), {"file": _file(text, "day.csv")})
    response = client.post(_page(test, "upload/"), {"file": _file(text, "day.csv")}, follow=True)
    assert "0 new events stored (40 already known)" in response.content.decode()
    assert OnlineEvent.objects.count() == 40


# --- panels -----------------------------------------------------------------------------------------
def test_the_benchmark_page_loads_its_online_tests(web, cast):
    test = make_test(cast.project, cast.lead, name="Login A/B")
    client = web(cast.stakeholder)
    page = client.get(f"/p/AUTH/benchmarks/{test.benchmark.pk}/").content.decode()
    assert f"/p/AUTH/benchmarks/{test.benchmark.pk}/abtests/" in page
    fragment = client.get(f"/p/AUTH/benchmarks/{test.benchmark.pk}/abtests/").content.decode()
    assert "Login A/B" in fragment and _page(test) in fragment
    assert web(cast.outsider).get(f"/p/AUTH/benchmarks/{test.benchmark.pk}/abtests/").status_code == 404


def test_the_ticket_page_lists_the_online_tests_of_its_runs(web, cast):
    ticket = TicketFactory(project=cast.project, title="Try a better model")
    runs = [make_run(cast.project, cast.lead, "old"), make_run(cast.project, cast.lead, "new", ticket.key)]
    make_test(cast.project, cast.lead, runs=runs, name="New model live")
    client = web(cast.stakeholder)
    assert "ticket-abtests-panel" in client.get(f"/t/{ticket.key}/").content.decode()
    fragment = client.get(f"/t/{ticket.key}/abtests/").content.decode()
    assert "New model live" in fragment
    other = TicketFactory(project=cast.project, title="Unrelated")
    assert "New model live" not in client.get(f"/t/{other.key}/abtests/").content.decode()


def test_the_project_dashboard_loads_the_online_tests_live_ones_first(web, cast, django_assert_num_queries):
    first = make_test(cast.project, cast.lead, name="Finished test", start=True)
    web(cast.lead).post(_page(first, "stop/"), {"decision": "inconclusive"})
    runs = [make_run(cast.project, cast.lead, "c"), make_run(cast.project, cast.lead, "d")]
    make_test(cast.project, cast.lead, benchmark=first.benchmark, runs=runs, name="Live test", start=True)
    client = web(cast.stakeholder)
    assert "/p/AUTH/abtests/" in client.get("/p/AUTH/dashboard/").content.decode()
    # session, user; membership; the tests with their benchmarks; run names
    with django_assert_num_queries(5):
        fragment = client.get("/p/AUTH/abtests/").content.decode()
    assert fragment.index("Live test") < fragment.index("Finished test")
    assert web(cast.outsider).get("/p/AUTH/abtests/").status_code == 404
