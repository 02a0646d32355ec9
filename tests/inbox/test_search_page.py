"""/p/<KEY>/search/?q= — the results page, for members only."""

from __future__ import annotations

import pytest

from tests.inbox.conftest import HOSTILE


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["lead", "engineer", "stakeholder"])
def test_members_see_marked_results(cast, web, corpus, who):
    response = web(cast.user(who)).get("/p/AUTH/search/", {"q": "gyroscope"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="search-hit"') == 10
    assert "<mark>Gyroscope</mark> features for typing" in html
    assert 'id="search"' in html  # the top bar's box, which "/" focuses


@pytest.mark.django_db
def test_a_hostile_title_is_shown_as_text(cast, web, corpus):
    html = web(cast.engineer).get("/p/AUTH/search/", {"q": "gyroscope"}).content.decode()
    assert "<script>alert(2)" not in html
    assert "x&#x27;);alert(1);(&#x27;" in html
    html = web(cast.engineer).get("/p/AUTH/search/", {"q": HOSTILE}).content.decode()
    assert "');alert(1);('" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["AUTH", "NOPE"])
def test_outsiders_get_the_same_404(cast, web, corpus, key):
    response = web(cast.outsider).get(f"/p/{key}/search/", {"q": "gyroscope"})
    assert response.status_code == 404


@pytest.mark.django_db
def test_the_page_costs_the_same_queries_for_more_results(cast, web, corpus, django_assert_num_queries):
    client = web(cast.engineer)
    client.get("/p/AUTH/search/", {"q": "gyroscope"})
    # session, user, memberships with projects (access; they fill the switcher too), 7 searches
    with django_assert_num_queries(10):
        client.get("/p/AUTH/search/", {"q": "gyroscope"})
