import datetime

import pytest
from django.utils import timezone

from tests.tickets.conftest import READ, lead_only
from tickets.models import Sprint, SprintState, Ticket

pytestmark = pytest.mark.django_db

NEW = {"name": "Sprint 9", "goal": "Ship", "start_date": "2027-01-04", "end_date": "2027-01-15"}


@pytest.mark.parametrize(("who", "status"), READ)
def test_sprint_list_role_matrix(api, cast, scene, who, status):
    response = api(cast.user(who) if who else None).get("/api/v1/projects/AUTH/sprints/")
    assert response.status_code == status
    if status == 200:
        assert [(s["name"], s["state"], s["ticket_count"]) for s in response.json()["results"]] == [
            ("Now", "active", 2),
            ("Next", "planned", 1),
        ]


@pytest.mark.parametrize(("who", "status"), READ)
def test_sprint_detail_role_matrix(api, cast, scene, who, status):
    response = api(cast.user(who) if who else None).get(f"/api/v1/projects/AUTH/sprints/{scene.active.pk}/")
    assert response.status_code == status
    if status == 200:
        assert response.json()["committed"] == ["AUTH-1", "AUTH-2"]


@pytest.mark.parametrize(("who", "status"), lead_only(201))
def test_sprint_create_role_matrix(api, cast, who, status):
    response = api(cast.user(who) if who else None).post("/api/v1/projects/AUTH/sprints/", NEW, format="json")
    assert response.status_code == status
    assert Sprint.objects.filter(name="Sprint 9").exists() == (status == 201)


@pytest.mark.parametrize(("who", "status"), lead_only(200))
def test_sprint_update_role_matrix(api, cast, scene, who, status):
    response = api(cast.user(who) if who else None).patch(
        f"/api/v1/projects/AUTH/sprints/{scene.planned.pk}/", {"goal": "New goal"}, format="json"
    )
    assert response.status_code == status
    assert (Sprint.objects.get(pk=scene.planned.pk).goal == "New goal") == (status == 200)


@pytest.mark.parametrize(("who", "status"), lead_only(204))
def test_sprint_delete_role_matrix(api, cast, scene, who, status):
    response = api(cast.user(who) if who else None).delete(f"/api/v1/projects/AUTH/sprints/{scene.planned.pk}/")
    assert response.status_code == status
    assert Sprint.objects.filter(pk=scene.planned.pk).exists() == (status != 204)
    if status == 204:
        assert Ticket.objects.get(number=5).sprint is None


@pytest.mark.parametrize(("who", "status"), lead_only(200))
def test_sprint_close_and_start_role_matrix(api, cast, scene, who, status):
    client = api(cast.user(who) if who else None)
    response = client.post(
        f"/api/v1/projects/AUTH/sprints/{scene.active.pk}/close/", {"carry_over_to": scene.planned.pk}, format="json"
    )
    assert response.status_code == status
    assert Sprint.objects.get(pk=scene.active.pk).state == ("closed" if status == 200 else "active")
    response = client.post(f"/api/v1/projects/AUTH/sprints/{scene.planned.pk}/start/")
    assert response.status_code == status
    assert Sprint.objects.get(pk=scene.planned.pk).state == ("active" if status == 200 else "planned")


def test_close_returns_the_snapshot_and_carries_work_over(api, cast, scene):
    response = api(cast.lead).post(
        f"/api/v1/projects/AUTH/sprints/{scene.active.pk}/close/", {"carry_over_to": scene.planned.pk}, format="json"
    )
    sprint = response.json()
    assert sprint["state"] == "closed"
    assert sprint["snapshot"]["carried_over"] == ["AUTH-1", "AUTH-2"]
    assert sprint["snapshot"]["carried_to"] == {"id": scene.planned.pk, "name": "Next"}
    assert list(Ticket.objects.filter(sprint=scene.planned).order_by("rank").values_list("number", flat=True)) == [
        1,
        2,
        5,
    ]


def test_close_requires_a_decision_about_unfinished_work(api, cast, scene):
    response = api(cast.lead).post(f"/api/v1/projects/AUTH/sprints/{scene.active.pk}/close/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "carry_over_to: This field is required."
    response = api(cast.lead).post(
        f"/api/v1/projects/AUTH/sprints/{scene.active.pk}/close/", {"carry_over_to": None}, format="json"
    )
    assert response.status_code == 200
    assert Ticket.objects.filter(sprint__isnull=True).count() == 4


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (999, "carry_over_to: There is no sprint 999 in AUTH."),
        ("self", "carry_over_to: Unfinished tickets can go to a planned sprint of this project or to the backlog."),
    ],
)
def test_close_target_must_be_a_planned_sprint(api, cast, scene, target, message):
    target = scene.active.pk if target == "self" else target
    response = api(cast.lead).post(
        f"/api/v1/projects/AUTH/sprints/{scene.active.pk}/close/", {"carry_over_to": target}, format="json"
    )
    assert (response.status_code, response.json()["message"]) == (400, message)
    assert Sprint.objects.get(pk=scene.active.pk).state == SprintState.ACTIVE


def test_a_second_active_sprint_is_refused(api, cast, scene):
    response = api(cast.lead).post(f"/api/v1/projects/AUTH/sprints/{scene.planned.pk}/start/")
    assert response.status_code == 400
    assert response.json()["message"] == "state: Now is still active; close it before starting Next."


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({**NEW, "end_date": "2027-01-01"}, "end_date: The sprint must end on or after its start date."),
        (
            {**NEW, "start_date": "soon"},
            "start_date: Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
        ),
        ({"goal": "x"}, "name: This field is required."),
    ],
)
def test_sprint_bad_input(api, cast, payload, message):
    response = api(cast.lead).post("/api/v1/projects/AUTH/sprints/", payload, format="json")
    assert (response.status_code, response.json()["message"]) == (400, message)
    assert not Sprint.objects.exists()


def test_sprints_of_another_project_are_404(api, cast):
    from tests.factories import ProjectFactory, SprintFactory

    other = SprintFactory(project=ProjectFactory(key="ELSE"))
    response = api(cast.lead).get(f"/api/v1/projects/AUTH/sprints/{other.pk}/")
    assert response.status_code == 404
    assert response.json()["message"] == f"There is no sprint {other.pk} in AUTH."


def test_sprint_list_items_are_summaries_linking_to_the_detail(api, cast, scene):
    client = api(cast.stakeholder)
    (now, _) = client.get("/api/v1/projects/AUTH/sprints/").json()["results"]
    assert "committed" not in now and "snapshot" not in now
    assert (now["id"], now["done_count"], now["skipped_count"]) == (scene.active.pk, 0, 0)
    assert now["url"] == f"http://testserver/api/v1/projects/AUTH/sprints/{scene.active.pk}/"
    assert client.get(now["url"]).json()["committed"] == ["AUTH-1", "AUTH-2"]


def test_sprint_list_pages(api, cast, scene, make_sprint):
    for _ in range(3):
        make_sprint()
    client = api(cast.engineer)
    first = client.get("/api/v1/projects/AUTH/sprints/?page_size=3").json()
    assert first["count"] == 5 and first["previous"] is None and len(first["results"]) == 3
    second = client.get(first["next"]).json()
    assert second["next"] is None and len(second["results"]) == 2
    walked = [s["id"] for s in first["results"] + second["results"]]
    # Every sprint once, in the order of one big page: the active one first.
    whole = client.get("/api/v1/projects/AUTH/sprints/?page_size=500").json()["results"]
    assert walked == [s["id"] for s in whole] and walked[0] == scene.active.pk and len(set(walked)) == 5


def test_sprint_list_query_count_is_constant(api, cast, scene, make_sprint, django_assert_num_queries):
    client = api(cast.stakeholder)
    # token + user, membership with project, count, one page of sprints with counts.
    with django_assert_num_queries(4):
        assert client.get("/api/v1/projects/AUTH/sprints/").json()["count"] == 2
    for _ in range(8):
        make_sprint()
    with django_assert_num_queries(4):
        assert len(client.get("/api/v1/projects/AUTH/sprints/").json()["results"]) == 10


def test_started_sprints_are_not_deleted_and_closed_dates_stay(api, cast, scene):
    client = api(cast.lead)
    response = client.delete(f"/api/v1/projects/AUTH/sprints/{scene.active.pk}/")
    assert (response.status_code, response.json()["message"]) == (
        400,
        "state: Now is active; only planned sprints can be deleted.",
    )
    client.post(f"/api/v1/projects/AUTH/sprints/{scene.active.pk}/close/", {"carry_over_to": None}, format="json")
    response = client.patch(
        f"/api/v1/projects/AUTH/sprints/{scene.active.pk}/", {"end_date": "2030-01-01"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["message"] == "start_date: Now is closed; its dates are part of the record."


def _future_sprint(cast):
    from tickets import services

    today = timezone.localdate()
    return services.sprint_create(
        project=cast.project,
        name="Later",
        start_date=today + datetime.timedelta(days=14),
        end_date=today + datetime.timedelta(days=27),
    )


def test_a_sprint_dated_in_the_future_starts_only_when_asked_to_move_its_dates(api, cast):
    sprint = _future_sprint(cast)
    url = f"/api/v1/projects/AUTH/sprints/{sprint.pk}/start/"
    response = api(cast.lead).post(url)
    assert response.status_code == 400
    assert response.json()["message"].startswith(
        f"move_dates: Later is planned to start on {sprint.start_date:%a %d %b %Y}, after today; "
        "move its dates to today to start it now (move_dates=true)."
    )
    fresh = Sprint.objects.get(pk=sprint.pk)
    assert (fresh.state, fresh.start_date, fresh.started_at) == ("planned", sprint.start_date, None)

    response = api(cast.lead).post(url, {"move_dates": True}, format="json")
    assert response.status_code == 200
    today = timezone.localdate()
    assert response.json()["state"] == "active"
    assert response.json()["start_date"] == today.isoformat()
    assert response.json()["end_date"] == (today + datetime.timedelta(days=13)).isoformat()


def test_move_dates_must_be_a_boolean(api, cast):
    sprint = _future_sprint(cast)
    response = api(cast.lead).post(
        f"/api/v1/projects/AUTH/sprints/{sprint.pk}/start/", {"move_dates": "perhaps"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("move_dates:")
    assert Sprint.objects.get(pk=sprint.pk).state == "planned"


def test_a_sprint_that_already_began_keeps_its_dates_when_started(api, cast, scene):
    close = f"/api/v1/projects/AUTH/sprints/{scene.active.pk}/close/"
    api(cast.lead).post(close, {"carry_over_to": None}, format="json")
    response = api(cast.lead).post(f"/api/v1/projects/AUTH/sprints/{scene.planned.pk}/start/", {"move_dates": True})
    assert response.status_code == 200
    assert response.json()["start_date"] == scene.planned.start_date.isoformat()
