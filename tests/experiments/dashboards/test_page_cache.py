"""The dashboard's and the demo's cached fragments: served again without their queries, gone the
moment what they show changes, and never shown to a viewer of another role."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.experiments.dashboard_story import build_story
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(cast):
    return build_story(cast)


def _get(client, url: str) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    # The page from its main part on: the head carries the request's own CSRF token.
    return response.content.decode().split("<main", 1)[1], len(queries)


@pytest.mark.parametrize("url", ["/p/AUTH/dashboard/", "/p/AUTH/demo/"])
def test_a_page_shown_again_costs_none_of_its_fragments_queries(story, web, url):
    client = web(story.cast.stakeholder)
    first, cold = _get(client, url)
    again, warm = _get(client, url)
    # Session, user, the viewer's memberships with projects (access and switcher): the page is kept whole.
    assert again == first and warm == 3 < cold


def test_a_changed_ticket_shows_at_once_on_the_demo(story, web):
    client = web(story.cast.stakeholder)
    assert "Threshold calibration" in _get(client, "/p/AUTH/demo/")[0]
    ticket = Ticket.objects.get(project=story.cast.project, title="Threshold calibration")
    services.ticket_update(ticket=ticket, actor=story.cast.lead, title="Threshold calibration per device")
    page = _get(client, "/p/AUTH/demo/")[0]
    assert "Threshold calibration per device" in page


def test_a_renamed_sprint_shows_at_once_on_the_dashboard(story, web):
    client = web(story.cast.engineer)
    assert "Sprint 1" in _get(client, "/p/AUTH/dashboard/")[0]
    services.sprint_update(sprint=story.s1, name="Skeleton sprint")
    page = _get(client, "/p/AUTH/dashboard/")[0]
    assert "Skeleton sprint" in page


def test_each_role_sees_its_own_buttons(story, web):
    share = "/p/AUTH/share-links/"
    assert share in _get(web(story.cast.lead), "/p/AUTH/dashboard/")[0]
    assert share in _get(web(story.cast.lead), "/p/AUTH/demo/")[0]
    # Rendered after the lead's pages were cached: no lead's button for a stakeholder.
    assert share not in _get(web(story.cast.stakeholder), "/p/AUTH/dashboard/")[0]
    assert share not in _get(web(story.cast.stakeholder), "/p/AUTH/demo/")[0]
