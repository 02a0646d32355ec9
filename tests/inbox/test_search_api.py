"""GET /api/v1/projects/{KEY}/search/?q= — every kind of object, ranked, marked, members only."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.inbox.conftest import HOSTILE

URL = "/api/v1/projects/AUTH/search/"


def _search(api, user, q):
    response = api(user).get(URL, {"q": q})
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.django_db
def test_it_finds_every_kind_of_object(cast, api, corpus):
    body = _search(api, cast.engineer, "gyroscope")
    urls = {hit["url"] for hit in body["results"]}
    for name in ("titled", "described", "answered", "hostile"):
        assert f"/t/{corpus[name].key}/" in urls, name
    assert any(u.startswith(f"/t/{corpus['commented'].key}/#comment-") for u in urls)
    for run in ("run", "tagged", "with_param"):
        assert f"/p/AUTH/runs/{corpus[run].pk}/" in urls, run
    assert f"/p/AUTH/epics/{corpus['epic'].pk}/" in urls
    assert f"/p/AUTH/benchmarks/{corpus['benchmark'].pk}/" in urls
    assert {h["kind"] for h in body["results"]} == {"ticket", "run", "epic", "benchmark"}
    assert body["count"] == len(body["results"]) == 10
    # Nothing from another project, nothing unrelated.
    assert not any("secret" in h["title"].lower() or "Unrelated" in h["title"] for h in body["results"])


@pytest.mark.django_db
def test_a_match_in_the_title_ranks_above_one_in_the_text(cast, api, corpus):
    tickets = [h for h in _search(api, cast.engineer, "gyroscope")["results"] if h["kind"] == "ticket"]
    order = [h["url"] for h in tickets]
    assert order.index(f"/t/{corpus['titled'].key}/") < order.index(f"/t/{corpus['described'].key}/")
    ranks = [h["rank"] for h in _search(api, cast.engineer, "gyroscope")["results"]]
    assert ranks == sorted(ranks, reverse=True)


@pytest.mark.django_db
def test_a_ticket_key_finds_that_ticket_first(cast, api, corpus):
    key = corpus["commented"].key
    first = _search(api, cast.stakeholder, key)["results"][0]
    assert first["url"] == f"/t/{key}/"


@pytest.mark.django_db
def test_matched_words_are_marked_and_hostile_text_stays_inert(cast, api, corpus):
    results = _search(api, cast.engineer, "gyroscope")["results"]
    hostile = next(h for h in results if h["url"] == f"/t/{corpus['hostile'].key}/")
    assert "<script>" not in hostile["title"]
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in hostile["title"]
    assert "x&#x27;);alert(1);(&#x27;" in hostile["title"]
    assert "<mark>gyroscope</mark>" in hostile["title"]
    described = next(h for h in results if h["url"] == f"/t/{corpus['described'].key}/")
    assert "<mark>gyroscope</mark>" in described["snippet"]
    tagged = next(h for h in results if h["url"] == f"/p/AUTH/runs/{corpus['tagged'].pk}/")
    assert tagged["snippet"] == "feature_set=<mark>gyroscope</mark>"


@pytest.mark.django_db
def test_hostile_query_text_is_escaped(cast, api, corpus):
    body = _search(api, cast.engineer, HOSTILE)
    for hit in body["results"]:
        assert "<script" not in hit["title"] + hit["snippet"]
        assert "');alert(1)" not in hit["title"]


@pytest.mark.django_db
def test_an_empty_query_finds_nothing(cast, api, corpus):
    assert _search(api, cast.engineer, "   ")["results"] == []


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["lead", "engineer", "stakeholder"])
def test_every_member_may_search(cast, api, corpus, who):
    assert _search(api, cast.user(who), "gyroscope")["count"] == 10


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["AUTH", "NOPE"])
def test_outsiders_get_the_same_404(cast, api, corpus, key):
    outsider = api(cast.outsider).get(f"/api/v1/projects/{key}/search/", {"q": "gyroscope"})
    anonymous = api(None).get(f"/api/v1/projects/{key}/search/", {"q": "gyroscope"})
    assert outsider.status_code == 404
    assert anonymous.status_code in (401, 404)


@pytest.mark.django_db
def test_the_query_count_does_not_grow_with_the_results(cast, api, corpus, django_assert_num_queries):
    client = api(cast.engineer)
    # token, membership, tickets, comments, runs, tags+params of found runs (2), epics, benchmarks
    with django_assert_num_queries(9):
        few = client.get(URL, {"q": "gyroscope"})
    from tests.factories import TicketFactory

    for n in range(15):
        TicketFactory(project=cast.project, title=f"gyroscope study {n}")
    with django_assert_num_queries(9):
        many = client.get(URL, {"q": "gyroscope"})
    assert many.json()["count"] > few.json()["count"]


@pytest.mark.django_db
def test_it_uses_full_text_search_on_postgresql(cast, api, corpus):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL full-text search runs on PostgreSQL only")
    # Stemming: "features" finds "feature"; English stop words do not matter.
    urls = {h["url"] for h in _search(api, cast.engineer, "the feature")["results"]}
    assert f"/t/{corpus['titled'].key}/" in urls
