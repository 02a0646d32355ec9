import datetime

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import MembershipFactory, ProjectFactory
from tests.tickets.conftest import force_status
from tickets import services
from tickets.models import Membership, Project, Role, TicketStatus

pytestmark = pytest.mark.django_db


def test_login_required(web, cast):
    response = web(None).get("/projects/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize(("who", "status"), [("outsider", 404), ("stakeholder", 200), ("engineer", 200), ("lead", 200)])
@pytest.mark.parametrize("path", ["/p/AUTH/", "/p/AUTH/members/"])
def test_project_pages_role_matrix(web, cast, who, status, path):
    response = web(cast.user(who)).get(path)
    assert response.status_code == status
    if status == 404:
        assert b"Continuous authentication" not in response.content


def test_anonymous_is_sent_to_login_from_project_pages(web, cast):
    response = web(None).get("/p/AUTH/members/")
    assert response.status_code == 302
    assert "/login/?next=/p/AUTH/members/" in response["Location"]


def test_project_list_shows_roles(web, cast):
    content = web(cast.stakeholder).get("/projects/").content.decode()
    assert "AUTH" in content and "Stakeholder" in content
    assert "OTHER" not in content


def test_project_list_query_count_is_constant(web, cast):
    client = web(cast.engineer)
    with CaptureQueriesContext(connection) as few:
        client.get("/projects/")
    for n in range(8):
        MembershipFactory(user=cast.engineer, project=ProjectFactory(key=f"MORE{n}"), role=Role.ENGINEER)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/projects/").status_code == 200
    # session, user, the user's permissions (direct and through groups: may they create projects?),
    # memberships for the list, memberships for the switcher.
    assert len(few) == len(many) == 6


def _may_create_projects(user) -> None:
    user.user_permissions.add(Permission.objects.get(content_type__app_label="tickets", codename="add_project"))


def test_create_project_from_the_page(web, cast):
    _may_create_projects(cast.stakeholder)
    response = web(cast.stakeholder).post("/projects/", {"key": "VOICE", "name": "Voice ID"})
    assert response.status_code == 302
    assert Membership.objects.get(project__key="VOICE").role == Role.LEAD


def test_create_project_with_bad_key_explains(web, cast):
    _may_create_projects(cast.lead)
    response = web(cast.lead).post("/projects/", {"key": "voice!", "name": "Voice ID"})
    assert response.status_code == 200
    assert "Use 2–10 upper-case letters" in response.content.decode()
    assert not Project.objects.filter(name="Voice ID").exists()


def test_overview_shows_the_active_sprint_and_its_progress(web, cast, make_sprint, make_ticket):
    make_sprint("Sprint later", start=datetime.date(2026, 12, 28))
    sprint = make_sprint("Sprint now", goal="Ship the calibrated model.", state="active")
    done = make_ticket("Calibrate scores", sprint=sprint, estimate=3)
    make_ticket("Measure latency", sprint=sprint, estimate=2)
    force_status(done, TicketStatus.DONE)

    page = web(cast.stakeholder).get("/p/AUTH/").content.decode()

    card = page[page.index('data-testid="current-sprint"') : page.index('data-testid="recent-tickets"')]
    assert "Current sprint" in card and "Sprint now" in card and "Sprint later" not in card
    assert "Ship the calibrated model." in card
    assert "1 of 2 tickets done · 5 points planned" in card
    assert f"/p/AUTH/dashboard/sprints/{sprint.pk}/" in card


def test_overview_without_an_active_sprint_shows_the_next_planned_one(web, cast, make_sprint):
    make_sprint("Sprint far", start=datetime.date(2027, 3, 1))
    make_sprint("Sprint soon", start=datetime.date(2027, 1, 4))
    page = web(cast.engineer).get("/p/AUTH/").content.decode()
    assert "Next sprint" in page and "Sprint soon" in page and "Sprint far" not in page


def test_overview_without_sprints_points_to_planning(web, cast):
    page = web(cast.lead).get("/p/AUTH/").content.decode()
    assert "No open sprint." in page and 'href="/p/AUTH/sprints/"' in page


def test_overview_lists_the_tickets_changed_last(web, cast, make_ticket):
    old, newer = make_ticket("Old ticket"), make_ticket("Newer ticket")
    services.ticket_update(ticket=old, actor=cast.lead, title="Old ticket, renamed")
    page = web(cast.engineer).get("/p/AUTH/").content.decode()
    recent = page[page.index('data-testid="recent-tickets"') :]
    assert recent.index("Old ticket, renamed") < recent.index("Newer ticket")
    assert old.key in recent and newer.key in recent


def test_overview_query_count_is_constant(web, cast, make_sprint, make_ticket):
    sprint = make_sprint(state="active")
    client = web(cast.engineer)
    make_ticket(sprint=sprint, assignee=cast.engineer)
    with CaptureQueriesContext(connection) as few:
        client.get("/p/AUTH/")
    for n in range(12):
        make_ticket(f"Ticket {n}", sprint=sprint if n % 2 else None, assignee=cast.lead if n % 3 else cast.engineer)
    with CaptureQueriesContext(connection) as many:
        page = client.get("/p/AUTH/").content.decode()
    assert page.count('class="ticket-key"') == 8
    assert len(few) == len(many)


def test_the_new_project_button_is_only_for_those_who_may_create(web, cast):
    assert "New project" not in web(cast.lead).get("/projects/").content.decode()
    _may_create_projects(cast.engineer)
    page = web(cast.engineer).get("/projects/").content.decode()
    assert "New project" in page
    assert 'id="new-project"' in page


def test_creating_a_project_from_the_page_needs_the_permission(web, cast):
    response = web(cast.lead).post("/projects/", {"key": "VOICE", "name": "Voice ID"})
    assert response.status_code == 403
    assert "Creating projects is for staff" in response.content.decode()
    assert not Project.objects.filter(key="VOICE").exists()
