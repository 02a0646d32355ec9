import pytest

from tests.tickets.conftest import READ, lead_only
from tickets.models import Epic, TicketStatus

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("who", "status"), READ)
def test_epic_list_role_matrix(api, cast, scene, who, status):
    response = api(cast.user(who) if who else None).get("/api/v1/projects/AUTH/epics/")
    assert response.status_code == status
    if status == 200:
        (epic,) = response.json()
        assert epic["title"] == "Motion" and epic["ticket_count"] == 2 and epic["progress"] == 0.0


@pytest.mark.parametrize(("who", "status"), READ)
def test_epic_detail_role_matrix(api, cast, scene, who, status):
    response = api(cast.user(who) if who else None).get(f"/api/v1/projects/AUTH/epics/{scene.epic.pk}/")
    assert response.status_code == status


@pytest.mark.parametrize(("who", "status"), lead_only(201))
def test_epic_create_role_matrix(api, cast, who, status):
    response = api(cast.user(who) if who else None).post(
        "/api/v1/projects/AUTH/epics/", {"title": "Rollout", "goal": "Ship it behind a flag."}, format="json"
    )
    assert response.status_code == status
    assert Epic.objects.filter(title="Rollout").exists() == (status == 201)
    if status == 201:
        assert response.json()["status"] == "open" and response.json()["progress"] is None


@pytest.mark.parametrize(("who", "status"), lead_only(200))
def test_epic_update_role_matrix(api, cast, scene, who, status):
    response = api(cast.user(who) if who else None).patch(
        f"/api/v1/projects/AUTH/epics/{scene.epic.pk}/", {"status": "dropped"}, format="json"
    )
    assert response.status_code == status
    assert Epic.objects.get(pk=scene.epic.pk).status == ("dropped" if status == 200 else "open")


@pytest.mark.parametrize(("who", "status"), lead_only(204))
def test_epic_delete_role_matrix(api, cast, who, status):
    epic = Epic.objects.create(project=cast.project, title="Empty", goal="-")
    response = api(cast.user(who) if who else None).delete(f"/api/v1/projects/AUTH/epics/{epic.pk}/")
    assert response.status_code == status
    assert Epic.objects.filter(pk=epic.pk).exists() == (status != 204)


def test_an_epic_with_tickets_is_not_deleted(api, cast, scene):
    response = api(cast.lead).delete(f"/api/v1/projects/AUTH/epics/{scene.epic.pk}/")
    assert response.status_code == 400
    assert response.json()["message"] == "epic: Motion has 2 tickets; move them or mark the epic dropped instead."
    assert Epic.objects.filter(pk=scene.epic.pk).exists()


def test_progress_leaves_skipped_tickets_out(api, cast, scene):
    from tickets import services

    services.ticket_transition(ticket=scene.tickets[1], actor=cast.lead, status=TicketStatus.SKIPPED, reason="No")
    epic = api(cast.lead).get(f"/api/v1/projects/AUTH/epics/{scene.epic.pk}/").json()
    assert (epic["ticket_count"], epic["done_count"], epic["skipped_count"], epic["progress"]) == (2, 0, 1, 0.0)
    services.ticket_answer(ticket=scene.tickets[0], actor=cast.lead, answer="Yes", outcome="supported")
    epic = api(cast.lead).get(f"/api/v1/projects/AUTH/epics/{scene.epic.pk}/").json()
    assert epic["progress"] == 1.0


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"goal": "x"}, "title: This field is required."),
        ({"title": "x"}, "goal: This field is required."),
        ({"title": "x", "goal": "y", "status": "finished"}, 'status: "finished" is not a valid choice.'),
    ],
)
def test_epic_bad_input(api, cast, payload, message):
    response = api(cast.lead).post("/api/v1/projects/AUTH/epics/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == message
    assert not Epic.objects.exists()


def test_unknown_epic_is_404(api, cast):
    response = api(cast.lead).get("/api/v1/projects/AUTH/epics/999/")
    assert response.status_code == 404
    assert response.json()["message"] == "There is no epic 999 in AUTH."


def test_epic_list_query_count_is_constant(api, cast, scene, django_assert_num_queries):
    from tests.factories import EpicFactory

    client = api(cast.stakeholder)
    for _n in range(10):
        EpicFactory(project=cast.project)
    # token + user, membership with project, epics with counts.
    with django_assert_num_queries(3):
        assert len(client.get("/api/v1/projects/AUTH/epics/").json()) == 11


def test_epic_update_bad_input(api, cast, scene):
    response = api(cast.lead).patch(f"/api/v1/projects/AUTH/epics/{scene.epic.pk}/", {"title": ""}, format="json")
    assert (response.status_code, response.json()["message"]) == (400, "title: This field may not be blank.")
    assert Epic.objects.get(pk=scene.epic.pk).title == "Motion"
