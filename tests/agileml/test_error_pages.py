"""Error pages and their noise: an icon they name, refusals logged in one line, no bare 405
for an address a person can land on."""

import logging

import pytest

from tests.experiments.dashboard_story import build_story

pytestmark = pytest.mark.django_db


def test_a_refusal_is_logged_in_one_line_without_a_traceback(web, cast, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = web(cast.stakeholder).post("/p/AUTH/sprints/", {"name": "S"})
    assert response.status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Forbidden (Permission denied): /p/AUTH/sprints/"
    assert record.exc_info is None and "Traceback" not in caplog.text


def test_server_errors_keep_their_traceback(caplog):
    from agileml.log_filters import OneLineForbidden

    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "boom", None, (ValueError, None, None))
    record.status_code = 500
    assert OneLineForbidden().filter(record) and record.exc_info is not None


def test_error_pages_name_an_icon_that_exists(web, cast, client):
    page = web(cast.stakeholder).get("/p/NOPE/").content.decode()
    assert '<link rel="icon" href="/static/agileml/favicon.ico"' in page
    assert client.get("/static/agileml/favicon.ico").status_code == 200
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/agileml/favicon.ico"


@pytest.mark.parametrize(("who", "status"), [("outsider", 404), ("stakeholder", 302), ("lead", 302)])
def test_opening_the_review_address_goes_to_the_review(web, cast, who, status):
    story = build_story(cast)
    response = web(cast.user(who)).get(f"/p/AUTH/demo/sprints/{story.s1.pk}/review/")
    assert response.status_code == status
    if status == 302:
        assert response["Location"] == f"/p/AUTH/demo/sprints/{story.s1.pk}/#review"
