"""Whole project pages kept per role (tickets.fragments.shared_page): a page shown again costs the
access check and the viewer's own bits only; every viewer still gets their own CSRF token, name and
projects; a change shows at once; no role, viewer or message leaks into another's page."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from experiments.tracking import services as tracking
from experiments.tracking.services.validation import MetricPoint
from tests.factories import MembershipFactory, ProjectFactory, TicketFactory, UserFactory
from tickets import services
from tickets.models import Role

pytestmark = pytest.mark.django_db

PAGES = ["/p/AUTH/", "/p/AUTH/backlog/", "/p/AUTH/board/", "/p/AUTH/runs/", "/p/AUTH/dashboard/", "/p/AUTH/demo/"]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _get(client: Client, url: str) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode(), len(queries)


def _name(html: str) -> str:
    """The name in the top bar."""
    return re.search(r'<span class="app-username">([^<]*)</span>', html).group(1)


def _token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


@pytest.fixture
def twins(cast):
    """A second engineer who also leads another project, so their project switcher differs."""
    twin = UserFactory(username="twin-engineer")
    MembershipFactory(project=cast.project, user=twin, role=Role.ENGINEER)
    MembershipFactory(project=ProjectFactory(key="TWIN", name="Twin's own"), user=twin, role=Role.LEAD)
    TicketFactory(project=cast.project, title="Calibrate the thresholds")
    return twin


@pytest.mark.parametrize("url", PAGES)
def test_a_page_kept_for_one_member_is_served_to_the_next_with_their_own_bits(cast, twins, url):
    first, cold = _get(_client(cast.engineer), url)
    again, warm = _get(_client(twins), url)
    # Session, user, the viewer's memberships with projects (access and switcher): nothing of the page's own.
    assert warm == 3 < cold
    assert _name(first) == cast.engineer.username and _name(again) == "twin-engineer"
    assert "/p/TWIN/" in again and "/p/TWIN/" not in first
    assert "Twin&#x27;s own" in again


def test_each_viewer_gets_a_csrf_token_that_works_for_them(cast, twins):
    _get(_client(cast.engineer), "/p/AUTH/backlog/")
    client = _client(twins)
    client.handler.enforce_csrf_checks = True
    html, _ = _get(client, "/p/AUTH/backlog/")
    token = _token(html)
    assert token.isalnum() and len(token) == 64
    response = client.post("/logout/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert client.get("/p/AUTH/backlog/").status_code == 302  # logged out: to the sign-in page


def test_a_changed_ticket_shows_at_once(cast):
    ticket = TicketFactory(project=cast.project, title="Calibrate the thresholds")
    client = _client(cast.stakeholder)
    for url in ("/p/AUTH/backlog/", f"/t/{ticket.key}/"):
        assert "Calibrate the thresholds" in _get(client, url)[0]
    services.ticket_update(ticket=ticket, actor=cast.lead, title="Calibrate per device")
    for url in ("/p/AUTH/backlog/", f"/t/{ticket.key}/"):
        html = _get(client, url)[0]
        assert "Calibrate per device" in html and "Calibrate the thresholds" not in html


def test_a_logged_metric_shows_at_once_on_the_run_list_and_leaves_other_pages_kept(cast):
    run = tracking.run_create(project=cast.project, user=cast.engineer, name="resnet-a")
    tracking.run_log(run=run, metrics=[MetricPoint("auc", 0.5, 1)])
    client = _client(cast.engineer)
    runs_url = "/p/AUTH/runs/?columns=1&m=auc"
    assert "0.5" in _get(client, runs_url)[0]
    _, backlog_cold = _get(client, "/p/AUTH/backlog/")
    tracking.run_log(run=run, metrics=[MetricPoint("auc", 0.8125, 2, step=1)])
    assert "0.8125" in _get(client, runs_url)[0]
    # The project's content did not change: the backlog is still kept.
    assert _get(client, "/p/AUTH/backlog/")[1] == 3 < backlog_cold


def test_a_role_never_gets_another_roles_page(cast):
    TicketFactory(project=cast.project, title="Calibrate the thresholds")
    lead_page = _get(_client(cast.lead), "/p/AUTH/backlog/")[0]
    stakeholder_page = _get(_client(cast.stakeholder), "/p/AUTH/backlog/")[0]
    assert "new-sprint-modal" in lead_page
    assert "new-sprint-modal" not in stakeholder_page
    assert _client(cast.outsider).get("/p/AUTH/backlog/").status_code == 404


def test_a_comment_is_editable_only_on_its_authors_kept_page(cast):
    ticket = TicketFactory(project=cast.project, title="Calibrate the thresholds")
    other = UserFactory(username="other-engineer")
    MembershipFactory(project=cast.project, user=other, role=Role.ENGINEER)
    comment = services.comment_create(ticket=ticket, author=cast.engineer, body="Looks noisy")
    delete = f"/t/{ticket.key}/comments/{comment.pk}/delete/"
    author_page = _get(_client(cast.engineer), f"/t/{ticket.key}/")[0]
    other_page = _get(_client(other), f"/t/{ticket.key}/")[0]
    assert "Looks noisy" in author_page and "Looks noisy" in other_page
    assert delete in author_page
    assert delete not in other_page


def test_a_page_with_a_message_is_not_kept(cast):
    client = _client(cast.lead)
    _, cold = _get(client, "/p/AUTH/board/")
    # A sprint id that is no id: the board says so in a message and shows the current sprint.
    for _ in range(2):
        html, queries = _get(client, "/p/AUTH/board/?sprint=abc")
        assert "is not a sprint id" in html and queries > 3
    html, queries = _get(client, "/p/AUTH/board/")
    assert "is not a sprint id" not in html and queries == 3 < cold


def test_a_hostile_title_stays_text_on_a_kept_page(cast):
    TicketFactory(project=cast.project, title="x');alert(1);('")
    _get(_client(cast.engineer), "/p/AUTH/backlog/")
    html = _get(_client(cast.stakeholder), "/p/AUTH/backlog/")[0]
    assert "x&#x27;);alert(1);(&#x27;" in html
    assert "x');alert(1);('" not in html


def test_watching_a_ticket_shows_at_once_on_its_kept_page(cast):
    ticket = TicketFactory(project=cast.project, title="Calibrate the thresholds")
    client = _client(cast.stakeholder)
    assert 'data-testid="watch"' in _get(client, f"/t/{ticket.key}/")[0]
    assert client.post(f"/t/{ticket.key}/watch/", {"watch": "1"}).status_code == 302
    _get(client, f"/t/{ticket.key}/")  # shows the confirmation, rendered for this request
    html = _get(client, f"/t/{ticket.key}/")[0]
    assert 'data-testid="unwatch"' in html and 'data-testid="watch"' not in html


def test_viewers_with_the_same_rights_on_a_ticket_share_its_kept_page(cast, twins):
    ticket = TicketFactory(project=cast.project, title="Calibrate the thresholds")
    services.comment_create(ticket=ticket, author=cast.lead, body="Looks noisy")
    first, cold = _get(_client(cast.engineer), f"/t/{ticket.key}/")
    again, warm = _get(_client(twins), f"/t/{ticket.key}/")
    # Session, user, memberships, the ticket, the viewer's own comments on it, whether they watch it.
    assert warm == 6 < cold
    assert _name(again) == "twin-engineer" and _name(first) == "engineer"
    assert "Looks noisy" in first and "Looks noisy" in again


def test_the_switcher_on_a_kept_page_follows_the_viewers_projects_at_once(cast, twins):
    client = _client(twins)
    _get(client, "/p/AUTH/board/")
    # Another project of theirs is renamed, and they join a third: nothing of AUTH changed.
    from tickets.models import Project

    Project.objects.filter(key="TWIN").update(name="Twin renamed")
    MembershipFactory(project=ProjectFactory(key="NEWP", name="Newly joined"), user=twins, role=Role.STAKEHOLDER)
    html, queries = _get(client, "/p/AUTH/board/")
    assert queries == 3  # the page itself is still the kept one
    assert "Twin renamed" in html and "Twin&#x27;s own" not in html
    assert "/p/NEWP/" in html and "Newly joined" in html
    # The engineer, with one project, still sees only theirs.
    other, _ = _get(_client(cast.engineer), "/p/AUTH/board/")
    assert "/p/NEWP/" not in other and "/p/TWIN/" not in other
