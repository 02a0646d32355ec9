import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import MembershipFactory, ProjectFactory
from tickets.models import Membership, Project, Role

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
    # session, user, memberships for the list, memberships for the switcher.
    assert len(few) == len(many) == 4


def test_create_project_from_the_page(web, cast):
    response = web(cast.stakeholder).post("/projects/", {"key": "VOICE", "name": "Voice ID"})
    assert response.status_code == 302
    assert Membership.objects.get(project__key="VOICE").role == Role.LEAD


def test_create_project_with_bad_key_explains(web, cast):
    response = web(cast.lead).post("/projects/", {"key": "voice!", "name": "Voice ID"})
    assert response.status_code == 200
    assert "Use 2–10 upper-case letters" in response.content.decode()
    assert not Project.objects.filter(name="Voice ID").exists()
