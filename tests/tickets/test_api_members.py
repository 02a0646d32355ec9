import pytest

from tickets.models import Membership, Role

pytestmark = pytest.mark.django_db

READ = [(None, 401), ("outsider", 404), ("stakeholder", 200), ("engineer", 200), ("lead", 200)]
WRITE = [(None, 401), ("outsider", 404), ("stakeholder", 403), ("engineer", 403)]


@pytest.mark.parametrize(("who", "status"), READ)
def test_member_list_role_matrix(api, cast, who, status):
    response = api(cast.user(who) if who else None).get("/api/v1/projects/AUTH/members/")
    assert response.status_code == status
    if status == 200:
        assert {m["username"]: m["role"] for m in response.json()} == {
            "lead": "lead",
            "engineer": "engineer",
            "stakeholder": "stakeholder",
        }


@pytest.mark.parametrize(("who", "status"), READ)
def test_member_detail_role_matrix(api, cast, who, status):
    response = api(cast.user(who) if who else None).get("/api/v1/projects/AUTH/members/engineer/")
    assert response.status_code == status


@pytest.mark.parametrize(("who", "status"), [*WRITE, ("lead", 201)])
def test_member_add_role_matrix(api, cast, who, status):
    response = api(cast.user(who) if who else None).post(
        "/api/v1/projects/AUTH/members/", {"username": "outsider", "role": "engineer"}, format="json"
    )
    assert response.status_code == status
    added = Membership.objects.filter(project=cast.project, user=cast.outsider).exists()
    assert added == (status == 201)


@pytest.mark.parametrize(("who", "status"), [*WRITE, ("lead", 200)])
def test_member_change_role_matrix(api, cast, who, status):
    response = api(cast.user(who) if who else None).patch(
        "/api/v1/projects/AUTH/members/engineer/", {"role": "lead"}, format="json"
    )
    assert response.status_code == status
    role = Membership.objects.get(project=cast.project, user=cast.engineer).role
    assert role == ("lead" if status == 200 else "engineer")


@pytest.mark.parametrize(("who", "status"), [*WRITE, ("lead", 204)])
def test_member_remove_role_matrix(api, cast, who, status):
    response = api(cast.user(who) if who else None).delete("/api/v1/projects/AUTH/members/stakeholder/")
    assert response.status_code == status
    still = Membership.objects.filter(project=cast.project, user=cast.stakeholder).exists()
    assert still == (status != 204)


def test_last_lead_cannot_be_removed_or_demoted(api, cast):
    client = api(cast.lead)
    response = client.delete("/api/v1/projects/AUTH/members/lead/")
    assert response.status_code == 400
    assert "last lead" in response.json()["message"]
    response = client.patch("/api/v1/projects/AUTH/members/lead/", {"role": "engineer"}, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("role:")
    assert Membership.objects.get(project=cast.project, user=cast.lead).role == Role.LEAD


def test_a_lead_can_leave_once_another_lead_exists(api, cast):
    client = api(cast.lead)
    assert client.patch("/api/v1/projects/AUTH/members/engineer/", {"role": "lead"}, format="json").status_code == 200
    assert client.delete("/api/v1/projects/AUTH/members/lead/").status_code == 204


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"username": "nobody", "role": "engineer"}, "username: There is no user named 'nobody'."),
        ({"username": "engineer", "role": "engineer"}, "username: engineer is already a member of AUTH."),
        ({"username": "outsider", "role": "boss"}, 'role: "boss" is not a valid choice.'),
        ({"role": "engineer"}, "username: This field is required."),
    ],
)
def test_member_add_bad_input(api, cast, payload, message):
    before = Membership.objects.count()
    response = api(cast.lead).post("/api/v1/projects/AUTH/members/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == message
    assert Membership.objects.count() == before


def test_unknown_member_is_404(api, cast):
    response = api(cast.lead).patch("/api/v1/projects/AUTH/members/outsider/", {"role": "lead"}, format="json")
    assert response.status_code == 404
    assert response.json()["message"] == "outsider is not a member of AUTH."
