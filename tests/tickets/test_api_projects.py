import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import MembershipFactory, ProjectFactory
from tickets.access import PROJECT_CREATORS_ONLY
from tickets.models import Membership, Project, Role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("outsider", 404), ("stakeholder", 200), ("engineer", 200), ("lead", 200)],
)
def test_project_detail_role_matrix(api, cast, who, status):
    response = api(cast.user(who) if who else None).get("/api/v1/projects/AUTH/")
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    if status == 200:
        assert response.json()["role"] == who
        assert response.json()["member_count"] == 3
    else:
        assert response.json()["message"]


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("outsider", 404), ("stakeholder", 403), ("engineer", 403), ("lead", 200)],
)
def test_project_update_role_matrix(api, cast, who, status):
    response = api(cast.user(who) if who else None).patch("/api/v1/projects/AUTH/", {"name": "Renamed"}, format="json")
    assert response.status_code == status
    cast.project.refresh_from_db()
    assert (cast.project.name == "Renamed") == (status == 200)


def test_project_list_shows_only_my_projects_with_roles(api, cast):
    response = api(cast.outsider).get("/api/v1/projects/")
    assert response.status_code == 200
    assert [(p["key"], p["role"]) for p in response.json()] == [("OTHER", "lead")]


def test_project_list_query_count_does_not_grow(api, cast):
    user = cast.engineer
    client = api(user)
    client.get("/api/v1/projects/")
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/projects/")
    for n in range(10):
        MembershipFactory(user=user, project=ProjectFactory(key=f"EXTRA{n}"), role=Role.STAKEHOLDER)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/projects/").json()) == 11
    # 1: token → user; 2: memberships joined to projects with member counts.
    assert len(few) == len(many) == 2


def _may_create_projects(user) -> None:
    user.user_permissions.add(Permission.objects.get(content_type__app_label="tickets", codename="add_project"))


def test_create_project_makes_caller_lead(api, cast):
    _may_create_projects(cast.engineer)
    response = api(cast.engineer).post("/api/v1/projects/", {"key": "VOICE", "name": "Voice"}, format="json")
    assert response.status_code == 201
    assert response.json()["role"] == "lead"
    assert Membership.objects.get(project__key="VOICE").user == cast.engineer


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"key": "auth2", "name": "x"}, "key"),
        ({"key": "AUTH", "name": "Duplicate"}, "key"),
        ({"key": "NEW"}, "name"),
        ({"key": "X", "name": "Too short key"}, "key"),
    ],
)
def test_create_project_rejects_bad_input_and_changes_nothing(api, cast, payload, field):
    _may_create_projects(cast.lead)
    before = Project.objects.count()
    response = api(cast.lead).post("/api/v1/projects/", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["message"].startswith(f"{field}:")
    assert field in body["errors"]
    assert Project.objects.count() == before


@pytest.mark.parametrize("who", ["lead", "engineer", "stakeholder", "outsider"])
def test_creating_a_project_is_a_site_permission_not_a_role(api, cast, who):
    """Leading a project does not let anyone start new ones; the answer says who may."""
    before = Project.objects.count()
    response = api(cast.user(who)).post("/api/v1/projects/", {"key": "VOICE", "name": "Voice"}, format="json")
    assert response.status_code == 403
    assert response.json()["message"] == PROJECT_CREATORS_ONLY
    assert Project.objects.count() == before


def test_staff_may_create_projects(api, cast):
    cast.stakeholder.is_staff = True
    cast.stakeholder.save(update_fields=["is_staff"])
    response = api(cast.stakeholder).post("/api/v1/projects/", {"key": "VOICE", "name": "Voice"}, format="json")
    assert response.status_code == 201
    assert Membership.objects.get(project__key="VOICE").user == cast.stakeholder


def test_anonymous_callers_cannot_create_projects(api, cast):
    response = api(None).post("/api/v1/projects/", {"key": "VOICE", "name": "Voice"}, format="json")
    assert response.status_code == 401
    assert not Project.objects.filter(key="VOICE").exists()
