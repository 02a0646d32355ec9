"""Ids written with other digits than ASCII ('³', '٣', '١٢') name nothing: 404 or 400, never a 500.

``str.isdigit`` accepts them and ``int()`` refuses or reads them; every id goes through
``tickets.access.parse_id``. Every route with an id (from the URL resolver, as in test_not_found)
is asked, by a lead of the project, with each id in turn replaced by Unicode digits.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.test_not_found import OBJECT_ROUTES, _params, world  # noqa: F401

UNICODE_IDS = ["³", "٣", "١٢", "1²", "٣/"]
# Parameters that are numbers in the URL.
NUMERIC = {
    "run_id", "experiment_id", "benchmark_id", "evaluation_id", "version", "sprint_id", "epic_id",
    "comment_id", "link_id", "material_id",
}  # fmt: skip
SENTINEL = 987654321


def _urls(name: str, real: dict) -> list[tuple[str, str]]:
    """(parameter, url) for each numeric parameter of the route written in Unicode digits, and the ticket key."""
    params = _params(name)
    out = []
    for param in sorted(params & (NUMERIC | {"ticket_key"})):
        kwargs = {p: real[p] for p in params}
        if name == "api-run-metric":
            kwargs["key"] = "loss"
        if name == "run-artifact":
            kwargs["path"] = "model.txt"
        if param == "ticket_key":
            kwargs[param] = "AUTH-987654321"
        else:
            kwargs[param] = SENTINEL
        url = reverse(name, kwargs=kwargs)
        for digits in UNICODE_IDS:
            out.append((param, url.replace(str(SENTINEL), digits)))
    return out


ID_ROUTES = [name for name in OBJECT_ROUTES if _params(name) & (NUMERIC | {"ticket_key"})]


def test_the_id_routes_are_found():
    assert len(ID_ROUTES) > 60


@pytest.mark.parametrize("name", ID_ROUTES)
def test_unicode_digits_in_an_id_are_not_found(client, cast, world, name):  # noqa: F811
    real, _ = world
    client.force_login(cast.lead)
    for param, url in _urls(name, real):
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code in (302, 400, 404, 405), (param, url, method.__name__, response.status_code)


@pytest.mark.parametrize("digits", ["³", "٣", "١٢"])
def test_unicode_digits_in_filters_and_bodies_are_refused(api, cast, world, digits):  # noqa: F811
    real, _ = world
    client = api(cast.lead)
    key = real["key"]
    asked = {
        "tickets?sprint": client.get(f"/api/v1/projects/{key}/tickets/", {"sprint": digits}),
        "tickets?epic": client.get(f"/api/v1/projects/{key}/tickets/", {"epic": digits}),
        "runs?ticket": client.get(f"/api/v1/projects/{key}/runs/", {"ticket": f"{key}-{digits}"}),
        "ticket sprint": client.post(
            f"/api/v1/projects/{key}/tickets/", {"title": "t", "work_type": "review", "sprint": digits}, format="json"
        ),
        "ticket epic": client.post(
            f"/api/v1/projects/{key}/tickets/", {"title": "t", "work_type": "review", "epic": digits}, format="json"
        ),
        "move keys": client.post(f"/api/v1/projects/{key}/tickets/move/", {"keys": [f"{key}-{digits}"]}, format="json"),
        "move sprint": client.post(
            f"/api/v1/projects/{key}/tickets/move/", {"keys": [real["ticket_key"]], "sprint": digits}, format="json"
        ),
        "evaluation run": client.post(
            f"/api/v1/benchmarks/{real['benchmark_id']}/evaluations/", {"run": digits}, format="json"
        ),
        "run ticket": client.post(
            f"/api/v1/projects/{key}/runs/", {"name": "r", "ticket": f"{key}-{digits}"}, format="json"
        ),
    }
    statuses = {name: response.status_code for name, response in asked.items()}
    assert all(status in (400, 404) for status in statuses.values()), statuses
