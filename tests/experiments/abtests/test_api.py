"""The online-test API: create, read, start, stop, assign and events, with the role matrix."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from experiments.abtests import services
from experiments.abtests.models import AbTestState, OnlineEvent, OnlineTest
from experiments.evaluation.online import Assigner
from tests.experiments.abtests.helpers import csv_text, events, jsonl, make_test
from tests.experiments.benchmark_helpers import make_benchmark, make_run
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _create_body(runs) -> dict:
    return {
        "name": "Fewer false lock-outs",
        "unit": "session",
        "arms": [
            {"variant": "champion", "run": runs[0].pk, "weight": 1},
            {"variant": "challenger", "run": runs[1].pk, "weight": 1},
        ],
        "primary": {"name": "authenticated", "kind": "binary", "min_effect": 0.02},
        "guardrails": [{"name": "latency_ms", "kind": "continuous", "higher_is_better": False, "margin": 20}],
    }


def _send(client, test, body: str, content_type: str = "application/x-ndjson"):
    return client.generic("POST", f"/api/v1/abtests/{test.pk}/events/", body.encode(), content_type=content_type)


# --- create ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "status"), [("lead", 201), ("engineer", 201), ("stakeholder", 403), ("outsider", 404)])
def test_who_may_create_a_draft(api, cast, who, status):
    benchmark = make_benchmark(cast.project, cast.lead)
    runs = [make_run(cast.project, cast.lead, "a"), make_run(cast.project, cast.lead, "b")]
    response = api(cast.user(who)).post(
        f"/api/v1/benchmarks/{benchmark.pk}/abtests/", _create_body(runs), format="json"
    )
    assert response.status_code == status, response.content
    assert OnlineTest.objects.count() == (1 if status == 201 else 0)
    if status == 201:
        body = response.json()
        assert body["state"] == "draft"
        assert body["unit"] == "session"
        assert [arm["variant"] for arm in body["arms"]] == ["champion", "challenger"]
        assert body["arms"][0]["run_name"] == "a"
        assert body["decision"] is None


def test_a_design_the_engine_refuses_is_answered_naming_the_field(api, cast):
    benchmark = make_benchmark(cast.project, cast.lead)
    runs = [make_run(cast.project, cast.lead, "a"), make_run(cast.project, cast.lead, "b")]
    body = _create_body(runs)
    body["primary"]["min_effect"] = 0
    response = api(cast.lead).post(f"/api/v1/benchmarks/{benchmark.pk}/abtests/", body, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("primary.min_effect")
    assert OnlineTest.objects.count() == 0


def test_a_run_of_another_project_is_refused(api, cast):
    benchmark = make_benchmark(cast.project, cast.lead)
    other = make_run(ProjectFactory(key="ELSE"), cast.lead, "elsewhere")
    runs = [make_run(cast.project, cast.lead, "a"), other]
    response = api(cast.lead).post(f"/api/v1/benchmarks/{benchmark.pk}/abtests/", _create_body(runs), format="json")
    assert response.status_code == 400
    assert response.json()["message"] == f"arms[1].run: AUTH has no run {other.pk}."


def test_a_guardrail_may_not_take_a_column_name(api, cast):
    benchmark = make_benchmark(cast.project, cast.lead)
    runs = [make_run(cast.project, cast.lead, "a"), make_run(cast.project, cast.lead, "b")]
    body = _create_body(runs)
    body["guardrails"][0]["name"] = "timestamp"
    response = api(cast.lead).post(f"/api/v1/benchmarks/{benchmark.pk}/abtests/", body, format="json")
    assert response.status_code == 400
    assert "guardrails[0].name" in response.json()["message"]


# --- read -------------------------------------------------------------------------------------------
def test_the_read_shape_others_rely_on(api, cast):
    test = make_test(cast.project, cast.lead, start=True)
    services.events_ingest(test=test, body=jsonl(events(test, 3000)), content_type="application/x-ndjson")
    services.onlinetest_aggregate(test_id=test.pk)
    body = api(cast.stakeholder).get(f"/api/v1/abtests/{test.pk}/").json()
    assert body["state"] == "running"
    assert {arm["variant"] for arm in body["arms"]} == {"champion", "challenger"}
    assert sum(arm["units"] for arm in body["arms"]) == 3000
    assert all(0.7 < arm["estimate"] < 0.95 for arm in body["arms"])
    difference = body["difference"]
    assert difference["cs_low"] < difference["estimate"] < difference["cs_high"]
    assert difference["cs_low"] > 0  # a ten-point lift on 1,500 units an arm is clear
    assert set(body["srm"]) >= {"p_value", "flagged"} and body["srm"]["flagged"] is False
    assert body["decision"] is None
    assert body["recommendation"] == "ship_challenger"
    assert body["challengers"][0]["guardrails"][0]["metric"] == "latency_ms"
    assert body["n_events"] == 3000


def test_reading_costs_the_same_queries_whatever_the_arms(api, cast, django_assert_num_queries):
    two = make_test(cast.project, cast.lead)
    runs = [make_run(cast.project, cast.lead, f"r{k}") for k in range(4)]
    arms = [{"variant": f"v{k}", "run": run.pk} for k, run in enumerate(runs)]
    four = make_test(cast.project, cast.lead, benchmark=two.benchmark, arms=arms)
    client = api(cast.stakeholder)
    # token + user; the test with its benchmark and project; the membership; the run names
    with django_assert_num_queries(4):
        assert client.get(f"/api/v1/abtests/{two.pk}/").status_code == 200
    with django_assert_num_queries(4):
        assert len(client.get(f"/api/v1/abtests/{four.pk}/").json()["arms"]) == 4


def test_the_list_costs_the_same_queries_for_one_test_or_many(api, cast, django_assert_num_queries):
    first = make_test(cast.project, cast.lead)
    url = f"/api/v1/benchmarks/{first.benchmark.pk}/abtests/"
    client = api(cast.stakeholder)
    # token + user; the benchmark with its project; the membership; the tests; their run names
    with django_assert_num_queries(5):
        assert len(client.get(url).json()) == 1
    for k in range(4):
        runs = [make_run(cast.project, cast.lead, f"x{k}"), make_run(cast.project, cast.lead, f"y{k}")]
        make_test(cast.project, cast.lead, benchmark=first.benchmark, runs=runs, name=f"t{k}")
    with django_assert_num_queries(5):
        assert len(client.get(url).json()) == 5


# --- start and stop ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "status"), [("lead", 200), ("engineer", 403), ("stakeholder", 403), ("outsider", 404)])
def test_only_leads_start(api, cast, who, status):
    test = make_test(cast.project, cast.lead)
    response = api(cast.user(who)).post(f"/api/v1/abtests/{test.pk}/start/")
    assert response.status_code == status
    test.refresh_from_db()
    assert test.state == (AbTestState.RUNNING if status == 200 else AbTestState.DRAFT)


@pytest.mark.parametrize(("who", "status"), [("lead", 200), ("engineer", 403), ("stakeholder", 403), ("outsider", 404)])
def test_only_leads_stop(api, cast, who, status):
    test = make_test(cast.project, cast.lead, start=True)
    response = api(cast.user(who)).post(f"/api/v1/abtests/{test.pk}/stop/", {"decision": "inconclusive"}, format="json")
    assert response.status_code == status
    test.refresh_from_db()
    assert test.state == (AbTestState.STOPPED if status == 200 else AbTestState.RUNNING)
    if status == 200:
        assert response.json()["decision"] == "inconclusive"


def test_a_draft_cannot_be_stopped_nor_a_running_test_started_again(api, cast):
    test = make_test(cast.project, cast.lead)
    client = api(cast.lead)
    response = client.post(f"/api/v1/abtests/{test.pk}/stop/", {"decision": "keep_champion"}, format="json")
    assert response.status_code == 400 and response.json()["message"].startswith("state:")
    assert client.post(f"/api/v1/abtests/{test.pk}/start/").status_code == 200
    again = client.post(f"/api/v1/abtests/{test.pk}/start/")
    assert again.status_code == 400 and "Only a draft" in again.json()["message"]


def test_stop_needs_a_known_decision(api, cast):
    test = make_test(cast.project, cast.lead, start=True)
    response = api(cast.lead).post(f"/api/v1/abtests/{test.pk}/stop/", {"decision": "maybe"}, format="json")
    assert response.status_code == 400 and response.json()["message"].startswith("decision:")
    test.refresh_from_db()
    assert test.state == AbTestState.RUNNING


# --- assignment -------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["lead", "engineer", "stakeholder"])
def test_every_member_gets_the_hash_assignment(api, cast, who):
    test = make_test(cast.project, cast.lead, start=True)
    assigner = Assigner(test.salt, [(a["variant"], a["weight"]) for a in test.arms])
    client = api(cast.user(who))
    for unit in ("user-1", "user-2", "dévice-3", "42"):
        body = client.get(f"/api/v1/abtests/{test.pk}/assign/", {"unit": unit}).json()
        assert body == {"test": test.pk, "unit": unit, "variant": assigner.assign(unit), "state": "running"}


def test_assignment_is_sticky_and_writes_nothing(api, cast, django_assert_max_num_queries):
    test = make_test(cast.project, cast.lead, start=True)
    client = api(cast.engineer)
    url = f"/api/v1/abtests/{test.pk}/assign/"
    first = client.get(url, {"unit": "user-7"}).json()["variant"]
    with CaptureQueriesContext(connection) as queries:
        again = [
            client.get(f"/api/v1/abtests/{test.pk}/assign/", {"unit": "user-7"}).json()["variant"] for _ in range(3)
        ]
    assert again == [first] * 3
    # With the design and the membership cached: the token's query per call; nothing written.
    assert len(queries) == 3
    assert not [q for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


def test_assignment_of_a_draft_is_refused_and_a_stopped_test_sends_everyone_to_the_decision(api, cast):
    test = make_test(cast.project, cast.lead)
    client = api(cast.lead)
    draft = client.get(f"/api/v1/abtests/{test.pk}/assign/", {"unit": "u"})
    assert draft.status_code == 409 and "draft" in draft.json()["message"]
    client.post(f"/api/v1/abtests/{test.pk}/start/")
    client.post(f"/api/v1/abtests/{test.pk}/stop/", {"decision": "keep_champion"}, format="json")
    variants = {
        client.get(f"/api/v1/abtests/{test.pk}/assign/", {"unit": f"u{k}"}).json()["variant"] for k in range(20)
    }
    assert variants == {"champion"}


def test_assignment_needs_a_unit(api, cast):
    test = make_test(cast.project, cast.lead, start=True)
    response = api(cast.lead).get(f"/api/v1/abtests/{test.pk}/assign/")
    assert response.status_code == 400 and response.json()["message"].startswith("unit:")


def test_outsiders_cannot_assign(api, cast):
    test = make_test(cast.project, cast.lead, start=True)
    hidden = api(cast.outsider).get(f"/api/v1/abtests/{test.pk}/assign/", {"unit": "u"})
    missing = api(cast.outsider).get("/api/v1/abtests/999999/assign/", {"unit": "u"})
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content


# --- events -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "status"), [("lead", 200), ("engineer", 200), ("stakeholder", 403), ("outsider", 404)])
def test_who_may_send_events(api, cast, who, status):
    test = make_test(cast.project, cast.lead, start=True)
    response = _send(api(cast.user(who)), test, jsonl(events(test, 10)))
    assert response.status_code == status
    assert OnlineEvent.objects.count() == (10 if status == 200 else 0)


def test_the_same_batch_twice_changes_nothing(api, cast):
    test = make_test(cast.project, cast.lead, start=True)
    client = api(cast.engineer)
    batch = jsonl(events(test, 200))
    assert _send(client, test, batch).json() == {"received": 200, "stored": 200, "duplicates": 0}

    def stored_rows():
        return list(OnlineEvent.objects.order_by("event_id").values_list("event_id", "unit", "variant", "outcome"))

    stored = stored_rows()
    version = OnlineTest.objects.get(pk=test.pk).events_version
    assert _send(client, test, batch).json() == {"received": 200, "stored": 0, "duplicates": 200}
    assert (
        list(OnlineEvent.objects.order_by("event_id").values_list("event_id", "unit", "variant", "outcome")) == stored
    )
    assert OnlineTest.objects.get(pk=test.pk).events_version == version
    # Overlapping batches store only the new events.
    overlap = jsonl(events(test, 150, start=100))
    assert _send(client, test, overlap).json() == {"received": 150, "stored": 50, "duplicates": 100}
    assert OnlineEvent.objects.count() == 250


def test_csv_batches_are_accepted(api, cast):
    test = make_test(cast.project, cast.lead, start=True)
    rows = events(test, 20)
    response = _send(api(cast.engineer), test, csv_text(rows), "text/csv")
    assert response.status_code == 200 and response.json()["stored"] == 20
    event = OnlineEvent.objects.get(event_id="e-3")
    assert event.guardrails == {"latency_ms": rows[3]["latency_ms"]}
    assert event.timestamp.isoformat() == rows[3]["timestamp"]


def test_a_malformed_batch_is_refused_by_line_and_nothing_is_stored(api, cast):
    test = make_test(cast.project, cast.lead, start=True)
    rows = events(test, 6)
    rows[1]["outcome"] = "yes"
    rows[3]["variant"] = "challenger-2"
    rows[4]["timestamp"] = "yesterday"
    response = _send(api(cast.engineer), test, csv_text(rows), "text/csv")
    assert response.status_code == 400
    body = response.json()
    # The header is line 1, so the second event is on line 3.
    assert body["message"] == "line 3, outcome: 'yes' is not a number (and 2 more)"
    assert [(e["line"], e["column"]) for e in body["lines"]] == [(3, "outcome"), (5, "variant"), (6, "timestamp")]
    assert "challenger-2" in body["lines"][1]["message"] and "arms: champion, challenger" in body["lines"][1]["message"]
    assert OnlineEvent.objects.count() == 0
    assert OnlineTest.objects.get(pk=test.pk).events_version == 0


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"event_id": "a", "unit": "u", "variant": "champion", "outcome": 2, "timestamp": 1}', "must be 0 or 1"),
        ('{"event_id": "a", "unit": "u", "variant": "champion", "outcome": 1}', "timestamp: is empty"),
        ('{"event_id": "a", "unit": "", "variant": "champion", "outcome": 1, "timestamp": 1}', "unit: is empty"),
        ('{"event_id": "a", "unit": "u", "variant": "champion", "outcome": 1, "timestamp": 1, "x": 1}', "x: is not"),
        ('{"event_id": "a", "unit": "u", "variant": "champion", "outcome": NaN, "timestamp": 1}', "finite"),
        ('{"event_id": "a", "unit": "u"', "line 2: is not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_each_kind_of_bad_json_line_is_named(api, cast, line, expected):
    test = make_test(cast.project, cast.lead, start=True)
    good = jsonl(events(test, 1))
    response = _send(api(cast.engineer), test, good + line + "\n")
    assert response.status_code == 400
    assert expected in response.json()["message"]
    assert OnlineEvent.objects.count() == 0


def test_a_csv_line_with_too_few_fields_is_named(api, cast):
    test = make_test(cast.project, cast.lead, start=True)
    body = "event_id,unit,variant,outcome,timestamp\na,u,champion,1,1\nb,u2,champion\n"
    response = _send(api(cast.engineer), test, body, "text/csv")
    assert response.status_code == 400
    assert response.json()["message"] == "line 3: has 3 fields but the header has 5"
    assert OnlineEvent.objects.count() == 0


def test_more_than_ten_thousand_events_are_refused_whole(api, cast):
    test = make_test(cast.project, cast.lead, start=True)
    response = _send(api(cast.engineer), test, jsonl(events(test, 10_001)))
    assert response.status_code == 413
    assert "at most 10,000 events" in response.json()["message"]
    assert OnlineEvent.objects.count() == 0


def test_events_are_accepted_only_while_the_test_runs(api, cast):
    test = make_test(cast.project, cast.lead)
    response = _send(api(cast.engineer), test, jsonl(events(test, 5)))
    assert response.status_code == 409 and "draft" in response.json()["message"]
    assert OnlineEvent.objects.count() == 0


def test_cuped_needs_the_covariate_on_every_event(api, cast):
    test = make_test(cast.project, cast.lead, start=True, cuped=True)
    response = _send(api(cast.engineer), test, jsonl(events(test, 2)))
    assert response.status_code == 400
    assert response.json()["message"].startswith("line 1, covariate: is empty")


# --- outsiders on every endpoint --------------------------------------------------------------------
ENDPOINTS = [
    ("get", "/api/v1/abtests/{id}/"),
    ("post", "/api/v1/abtests/{id}/start/"),
    ("post", "/api/v1/abtests/{id}/stop/"),
    ("get", "/api/v1/abtests/{id}/assign/?unit=u"),
    ("post", "/api/v1/abtests/{id}/events/"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_outsiders_get_the_same_404_for_a_hidden_test_and_a_missing_one(api, cast, method, url):
    test = make_test(cast.project, cast.lead, start=True)
    client = api(cast.outsider)
    hidden = getattr(client, method)(url.format(id=test.pk))
    missing = getattr(client, method)(url.format(id=999999))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content
    anonymous = getattr(api(None), method)(url.format(id=test.pk))
    assert anonymous.status_code == 401


def test_a_member_removed_from_the_project_loses_assignment_once_the_cache_expires(api, cast):
    from tickets.models import Membership

    test = make_test(cast.project, cast.lead, start=True)
    client = api(cast.engineer)
    assert client.get(f"/api/v1/abtests/{test.pk}/assign/", {"unit": "u"}).status_code == 200
    Membership.objects.filter(user=cast.engineer).delete()
    cache.clear()  # what DESIGN_CACHE_SECONDS later brings
    assert client.get(f"/api/v1/abtests/{test.pk}/assign/", {"unit": "u"}).status_code == 404


def test_a_draft_reads_with_the_same_shape_and_nothing_estimated(api, cast):
    test = make_test(cast.project, cast.lead)
    body = api(cast.stakeholder).get(f"/api/v1/abtests/{test.pk}/").json()
    assert body["difference"]["estimate"] is None and body["difference"]["verdict"] == "insufficient_data"
    assert body["srm"] == {"p_value": None, "flagged": False, "reason": "no events yet"}
    assert [arm["units"] for arm in body["arms"]] == [0, 0]


def test_a_body_over_the_size_limit_is_refused(api, cast, monkeypatch):
    from experiments.abtests import api as abtests_api

    monkeypatch.setattr(abtests_api, "MAX_BATCH_BYTES", 1000)
    test = make_test(cast.project, cast.lead, start=True)
    response = _send(api(cast.engineer), test, jsonl(events(test, 50)))
    assert response.status_code == 413 and "split it" in response.json()["message"]
    assert OnlineEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("event_id", "a\u0000b", "event_id: contains a NUL character"),
        ("latency_ms", 1e300, "latency_ms: 1e+300 is beyond"),
        ("timestamp", "9999-12-31T23:59:59-01:00", "timestamp: '9999-12-31T23:59:59-01:00' is not a time"),
    ],
)
def test_values_the_database_cannot_hold_are_named(api, cast, field, value, expected):
    test = make_test(cast.project, cast.lead, start=True)
    rows = events(test, 2)
    rows[1][field] = value
    response = _send(api(cast.engineer), test, jsonl(rows))
    assert response.status_code == 400
    assert response.json()["message"].startswith(f"line 2, {expected}")
    assert OnlineEvent.objects.count() == 0


def test_an_empty_batch_is_refused(api, cast):
    test = make_test(cast.project, cast.lead, start=True)
    response = api(cast.engineer).post(f"/api/v1/abtests/{test.pk}/events/")
    assert response.status_code == 400 and response.json()["message"] == "the batch holds no events"
