"""The search backend is chosen by the database vendor; the SQLite fallback (icontains) finds and ranks too.

The fallback runs on any database, so it is exercised here whatever the suite runs on.
"""

from __future__ import annotations

import pytest

from inbox import search


def test_the_backend_is_chosen_by_vendor():
    assert search.backend_for("postgresql") is search._postgres
    assert search.backend_for("sqlite") is search._fallback
    assert search.backend_for("mysql") is search._fallback


@pytest.mark.django_db
def test_the_fallback_finds_every_kind_and_ranks_titles_first(cast, corpus, django_assert_num_queries):
    with django_assert_num_queries(7):  # tickets, comments, runs, tags, params, epics, benchmarks
        found = search.search_project(project=cast.project, query="gyroscope", backend=search._fallback)
    urls = [h.url for h in found.hits]
    assert {h.kind for h in found.hits} == {"ticket", "run", "epic", "benchmark"}
    assert len(found.hits) == 10
    assert urls.index(f"/t/{corpus['titled'].key}/") < urls.index(f"/t/{corpus['described'].key}/")
    hostile = next(h for h in found.hits if h.url == f"/t/{corpus['hostile'].key}/")
    assert "<script>" not in hostile.title and "<mark>gyroscope</mark>" in hostile.title


@pytest.mark.django_db
def test_the_fallback_needs_every_word(cast, corpus):
    found = search.search_project(project=cast.project, query="gyroscope noisy", backend=search._fallback)
    assert [h.url.split("#")[0] for h in found.hits] == [f"/t/{corpus['commented'].key}/"]
    assert "<mark>noisy</mark>" in found.hits[0].snippet
