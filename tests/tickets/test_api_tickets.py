import pytest

from tests.tickets.conftest import READ, engineers, lead_only
from tickets import services
from tickets.models import Project, Ticket, TicketEvent

pytestmark = pytest.mark.django_db
LIST = "/api/v1/projects/AUTH/tickets/"


def keys(response) -> list[str]:
    return [t["key"] for t in response.json()["results"]]


@pytest.mark.parametrize(("who", "status"), READ)
def test_ticket_list_role_matrix(api, cast, scene, who, status):
    response = api(cast.user(who) if who else None).get(LIST)
    assert response.status_code == status
    if status == 200:
        assert response.json()["count"] == 5
        first = response.json()["results"][0]
        assert first["key"] == "AUTH-1" and first["kind"] == "question" and first["sprint_name"] == "Now"
        assert first["url"] == "/t/AUTH-1/"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sprint=backlog", ["AUTH-3", "AUTH-4"]),
        ("sprint={active}", ["AUTH-1", "AUTH-2"]),
        ("kind=question", ["AUTH-1"]),
        ("work_type=deployment", ["AUTH-5"]),
        ("epic={epic}", ["AUTH-1", "AUTH-2"]),
        ("epic=none", ["AUTH-3", "AUTH-4", "AUTH-5"]),
        ("assignee=lead", ["AUTH-4"]),
        ("assignee=none", ["AUTH-2", "AUTH-3", "AUTH-5"]),
        ("status=todo,in_progress", ["AUTH-1", "AUTH-2", "AUTH-3", "AUTH-4", "AUTH-5"]),
        ("status=done", []),
        ("q=walking", ["AUTH-3"]),
        ("q=AUTH-4", ["AUTH-4"]),
        ("q=gyroscope", ["AUTH-1"]),  # matched in the question text
        ("kind=code&sprint=backlog&assignee=lead", ["AUTH-4"]),
    ],
)
def test_ticket_list_filters(api, cast, scene, query, expected):
    query = query.format(active=scene.active.pk, epic=scene.epic.pk)
    response = api(cast.stakeholder).get(f"{LIST}?{query}")
    assert response.status_code == 200
    assert keys(response) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=finished", "status: 'finished' is not a status; use todo, in_progress, review, done, skipped"),
        ("kind=essay", 'kind: "essay" is not a valid choice.'),
        ("sprint=soon", "sprint: 'soon' is neither a sprint id nor 'backlog'."),
        ("epic=x", "epic: 'x' is neither an epic id nor 'none'."),
        ("page=99", "Invalid page."),
    ],
)
def test_ticket_list_bad_filters_are_named(api, cast, scene, query, message):
    response = api(cast.stakeholder).get(f"{LIST}?{query}")
    assert response.status_code == 400 if "page" not in query else 404
    assert response.json()["message"].startswith(message)


def test_ticket_list_query_count_is_constant(api, cast, scene, make_ticket, django_assert_num_queries):
    client = api(cast.stakeholder)
    for n in range(30):
        make_ticket(f"More {n}", assignee=cast.engineer, epic=scene.epic, sprint=scene.active)
    # token + user, membership with project, count, one page with assignee/epic/sprint/creator joined.
    with django_assert_num_queries(4):
        response = client.get(f"{LIST}?page_size=100")
    assert response.json()["count"] == 35


@pytest.mark.parametrize(("who", "status"), engineers(201))
def test_ticket_create_role_matrix(api, cast, who, status):
    response = api(cast.user(who) if who else None).post(
        LIST, {"title": "Try it", "work_type": "review"}, format="json"
    )
    assert response.status_code == status
    assert Ticket.objects.filter(title="Try it").exists() == (status == 201)
    if status == 201:
        body = response.json()
        assert (body["key"], body["status"], body["sprint"], body["created_by"]) == ("AUTH-1", "todo", None, who)


def test_create_with_every_field_and_markdown(api, cast, scene):
    payload = {
        "title": "Does calibration hold on new phones?",
        "kind": "question",
        "work_type": "result_analysis",
        "description": "See *this* <script>alert(1)</script>",
        "assignee": "engineer",
        "epic": scene.epic.pk,
        "sprint": scene.planned.pk,
        "estimate": 3,
        "question": "Q?",
        "hypothesis": "H.",
    }
    body = api(cast.lead).post(LIST, payload, format="json").json()
    assert body["key"] == "AUTH-6" and body["assignee"] == "engineer" and body["epic"] == scene.epic.pk
    assert body["sprint"] == scene.planned.pk and body["estimate"] == 3
    assert body["description_html"] == "<p>See <em>this</em> </p>"
    event = TicketEvent.objects.get(ticket__number=6)
    assert event.field == "created" and event.new["sprint"] == scene.planned.pk and event.actor == cast.lead


def test_engineers_create_into_the_backlog_only(api, cast, scene):
    response = api(cast.engineer).post(
        LIST, {"title": "x", "work_type": "review", "sprint": scene.active.pk}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["message"].startswith("Only a lead plans sprints")
    assert Project.objects.get(pk=cast.project.pk).ticket_counter == 5


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"work_type": "review"}, "title: This field is required."),
        ({"title": "x"}, "work_type: This field is required."),
        ({"title": "x", "work_type": "coding"}, 'work_type: "coding" is not a valid choice.'),
        ({"title": "x", "work_type": "review", "assignee": "outsider"}, "assignee: outsider is not a member of AUTH."),
        ({"title": "x", "work_type": "review", "epic": 999}, "epic: There is no epic 999 in AUTH."),
        ({"title": "x", "work_type": "review", "sprint": 999}, "sprint: There is no sprint 999 in AUTH."),
        (
            {"title": "x", "work_type": "review", "deliverable_url": "javascript:alert(1)"},
            "deliverable_url: Enter a valid URL.",
        ),
        (
            {"title": "x", "work_type": "review", "estimate": -1},
            "estimate: Ensure this value is greater than or equal to 0.",
        ),
        ({"title": "   ", "work_type": "review"}, "title: This field may not be blank."),
    ],
)
def test_create_bad_input_is_named_and_burns_no_key(api, cast, scene, payload, message):
    response = api(cast.lead).post(LIST, payload, format="json")
    assert (response.status_code, response.json()["message"]) == (400, message)
    assert Ticket.objects.count() == 5
    assert Project.objects.get(pk=cast.project.pk).ticket_counter == 5


@pytest.mark.parametrize(("who", "status"), READ)
def test_ticket_detail_role_matrix(api, cast, scene, who, status):
    response = api(cast.user(who) if who else None).get("/api/v1/tickets/AUTH-1/")
    assert response.status_code == status
    if status == 200:
        assert response.json()["question"].startswith("Does adding gyroscope")


@pytest.mark.parametrize(
    ("key", "message"),
    [("AUTH-99", "There is no ticket AUTH-99."), ("nope", "'nope' is not a ticket key; keys look like AUTH-12.")],
)
def test_unknown_ticket_keys_are_404(api, cast, scene, key, message):
    response = api(cast.lead).get(f"/api/v1/tickets/{key}/")
    assert (response.status_code, response.json()["message"]) == (404, message)


@pytest.mark.parametrize(("who", "status"), engineers(200))
def test_ticket_update_role_matrix(api, cast, scene, who, status):
    response = api(cast.user(who) if who else None).patch(
        "/api/v1/tickets/AUTH-2/", {"status": "in_progress", "assignee": "engineer"}, format="json"
    )
    assert response.status_code == status
    ticket = Ticket.objects.get(number=2)
    assert (ticket.status == "in_progress") == (status == 200)
    if status == 200:
        assert response.json()["assignee"] == "engineer"
        assert set(TicketEvent.objects.filter(ticket=ticket).values_list("field", flat=True)) == {
            "created",
            "status",
            "assignee",
        }


def test_only_leads_move_tickets_through_a_patch(api, cast, scene):
    response = api(cast.engineer).patch("/api/v1/tickets/AUTH-3/", {"sprint": scene.planned.pk}, format="json")
    assert response.status_code == 403
    assert Ticket.objects.get(number=3).sprint is None
    response = api(cast.lead).patch("/api/v1/tickets/AUTH-3/", {"sprint": scene.planned.pk}, format="json")
    assert response.status_code == 200 and response.json()["sprint"] == scene.planned.pk


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"status": "skipped"}, "skip_reason: Say why AUTH-1 is skipped: skipping needs a reason."),
        ({"status": "done"}, "status: AUTH-1 is a question: it needs answer, outcome before it can be done"),
        ({"status": "nearly"}, 'status: "nearly" is not a valid choice.'),
        ({"assignee": "outsider"}, "assignee: outsider is not a member of AUTH."),
    ],
)
def test_update_bad_input_changes_nothing(api, cast, scene, payload, message):
    before = TicketEvent.objects.count()
    response = api(cast.engineer).patch("/api/v1/tickets/AUTH-1/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)
    assert TicketEvent.objects.count() == before
    assert Ticket.objects.get(number=1).status == "todo"


def test_skip_through_the_api(api, cast, scene):
    response = api(cast.engineer).patch(
        "/api/v1/tickets/AUTH-2/", {"status": "skipped", "skip_reason": "Motion was refuted"}, format="json"
    )
    assert response.json()["status"] == "skipped" and response.json()["skip_reason"] == "Motion was refuted"


def test_a_planned_sprints_tickets_keep_their_status_until_it_starts(api, cast, scene):
    before = TicketEvent.objects.count()
    response = api(cast.lead).patch("/api/v1/tickets/AUTH-5/", {"status": "in_progress"}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == (
        "status: AUTH-5 is in Next, which has not started; statuses change once it is active."
    )
    assert Ticket.objects.get(number=5).status == "todo" and TicketEvent.objects.count() == before


@pytest.mark.parametrize(("who", "status"), lead_only(204))
def test_ticket_delete_role_matrix(api, cast, scene, who, status):
    response = api(cast.user(who) if who else None).delete("/api/v1/tickets/AUTH-3/")
    assert response.status_code == status
    assert Ticket.objects.filter(number=3).exists() == (status != 204)


def test_tickets_of_a_started_sprint_are_not_deleted(api, cast, scene):
    response = api(cast.lead).delete("/api/v1/tickets/AUTH-2/")
    assert response.status_code == 400
    assert "skip it with a reason instead" in response.json()["message"]


@pytest.mark.parametrize(("who", "status"), READ)
def test_ticket_events_role_matrix(api, cast, scene, who, status):
    response = api(cast.user(who) if who else None).get("/api/v1/tickets/AUTH-1/events/")
    assert response.status_code == status
    if status == 200:
        created = response.json()["results"][0]
        assert created["field"] == "created" and created["new"]["sprint"] == scene.active.pk
        assert created["actor"] == "lead"


def test_ticket_events_page_oldest_first(api, cast, scene):
    for n in range(4):
        services.ticket_update(ticket=scene.tickets[0], actor=cast.engineer, estimate=n + 1)
    count = TicketEvent.objects.filter(ticket=scene.tickets[0]).count()
    client = api(cast.stakeholder)
    first = client.get("/api/v1/tickets/AUTH-1/events/?page_size=3").json()
    assert first["count"] == count >= 5 and first["previous"] is None and len(first["results"]) == 3
    rest = []
    page = first
    while page["next"]:
        page = client.get(page["next"]).json()
        rest += page["results"]
    walked = first["results"] + rest
    assert walked[0]["field"] == "created" and len(walked) == count
    assert [e["new"] for e in walked if e["field"] == "estimate"][-4:] == [1, 2, 3, 4]
    assert [e["created_at"] for e in walked] == sorted(e["created_at"] for e in walked)


def test_ticket_events_query_count_is_constant(api, cast, scene, django_assert_num_queries):
    client = api(cast.stakeholder)
    # token + user, membership with project, ticket, count, one page with actors.
    with django_assert_num_queries(5):
        small = client.get("/api/v1/tickets/AUTH-1/events/").json()
    for n in range(20):
        services.ticket_update(ticket=scene.tickets[0], actor=cast.engineer, estimate=n + 1)
    with django_assert_num_queries(5):
        large = client.get("/api/v1/tickets/AUTH-1/events/").json()
    assert large["count"] == small["count"] + 20 == len(large["results"])
