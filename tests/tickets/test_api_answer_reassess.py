import pytest

from tests.tickets.conftest import READ, engineers, lead_only
from tickets import services
from tickets.models import Reassessment, Ticket

pytestmark = pytest.mark.django_db
ANSWER = {"answer": "Motion adds **nothing**.", "outcome": "refuted"}


@pytest.mark.parametrize(("who", "status"), engineers(200))
def test_answer_role_matrix(api, cast, scene, who, status):
    response = api(cast.user(who) if who else None).post("/api/v1/tickets/AUTH-1/answer/", ANSWER, format="json")
    assert response.status_code == status
    ticket = Ticket.objects.get(number=1)
    assert (ticket.status, ticket.outcome) == (("done", "refuted") if status == 200 else ("todo", ""))
    if status == 200:
        assert response.json()["answer_html"] == "<p>Motion adds <strong>nothing</strong>.</p>"


@pytest.mark.parametrize(
    ("key", "payload", "message"),
    [
        ("AUTH-1", {"answer": "x"}, "outcome: This field is required."),
        ("AUTH-1", {"answer": "x", "outcome": "yes"}, 'outcome: "yes" is not a valid choice.'),
        ("AUTH-1", {"outcome": "refuted"}, "answer: This field is required."),
        ("AUTH-2", ANSWER, "kind: AUTH-2 is a code ticket; only question tickets are answered."),
    ],
)
def test_answer_bad_input(api, cast, scene, key, payload, message):
    response = api(cast.engineer).post(f"/api/v1/tickets/{key}/answer/", payload, format="json")
    assert (response.status_code, response.json()["message"]) == (400, message)
    assert not Ticket.objects.filter(status="done").exists()


@pytest.fixture
def answered(cast, scene):
    services.ticket_answer(ticket=scene.tickets[0], actor=cast.engineer, answer="No gain.", outcome="refuted")
    return scene


DECISIONS = {
    "note": "Motion is out.",
    "decisions": [
        {"ticket": "AUTH-2", "decision": "skip", "reason": "Refuted"},
        {"ticket": "AUTH-3", "decision": "edit", "title": "Typing sessions only", "work_type": "review"},
    ],
}


@pytest.mark.parametrize(("who", "status"), lead_only(201))
def test_reassess_role_matrix(api, cast, answered, who, status):
    response = api(cast.user(who) if who else None).post("/api/v1/tickets/AUTH-1/reassess/", DECISIONS, format="json")
    assert response.status_code == status
    assert Reassessment.objects.exists() == (status == 201)
    if status == 201:
        body = response.json()
        assert body["question"] == "AUTH-1" and body["outcome"] == "refuted" and body["note"] == "Motion is out."
        assert body["decisions"] == [
            {"ticket": "AUTH-2", "decision": "skip", "reason": "Refuted", "changes": {}},
            {
                "ticket": "AUTH-3",
                "decision": "edit",
                "reason": "",
                "changes": {
                    "title": ["Walking sessions", "Typing sessions only"],
                    "work_type": ["data_exploration", "review"],
                },
            },
        ]


@pytest.mark.parametrize(("who", "status"), READ)
def test_reassessment_list_role_matrix(api, cast, answered, who, status):
    services.reassessment_create(
        question=_question(cast),
        actor=cast.lead,
        decisions=[services.DecisionInput("AUTH-2", "keep")],
    )
    response = api(cast.user(who) if who else None).get("/api/v1/tickets/AUTH-1/reassess/")
    assert response.status_code == status
    if status == 200:
        assert [d["ticket"] for r in response.json() for d in r["decisions"]] == ["AUTH-2"]


def _question(cast):
    from tickets.access import ticket_for_user

    return ticket_for_user(cast.lead, "AUTH-1")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            {"decisions": [{"ticket": "AUTH-2", "decision": "skip"}]},
            "decisions[0].reason: Say why AUTH-2 is skipped: skipping needs a reason.",
        ),
        (
            {"decisions": [{"ticket": "AUTH-2", "decision": "keep"}, {"ticket": "AUTH-3", "decision": "maybe"}]},
            'decisions[1].decision: "maybe" is not a valid choice.',
        ),
        ({"decisions": []}, "decisions: Decide about at least one ticket."),
        ({}, "decisions: This field is required."),
    ],
)
def test_reassess_bad_input_is_named(api, cast, answered, payload, message):
    response = api(cast.lead).post("/api/v1/tickets/AUTH-1/reassess/", payload, format="json")
    assert (response.status_code, response.json()["message"]) == (400, message)
    assert not Reassessment.objects.exists()
    assert Ticket.objects.get(number=2).status == "todo"


def test_reassessing_an_unanswered_question_is_refused(api, cast, scene):
    response = api(cast.lead).post("/api/v1/tickets/AUTH-1/reassess/", DECISIONS, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "question: AUTH-1 has no answer yet; answer it before reassessing."
