import pytest
from django.core.exceptions import ValidationError

from tests.factories import EpicFactory
from tests.tickets.conftest import force_status, order_of
from tickets import selectors, services
from tickets.models import Decision, Outcome, Reassessment, Ticket, TicketEvent, TicketStatus

pytestmark = pytest.mark.django_db
D = services.DecisionInput


@pytest.fixture
def scene(cast, make_sprint, make_ticket, make_question):
    """An answered question in an active sprint and an epic, with open and closed work around it."""
    sprint = make_sprint(name="S1")
    epic = EpicFactory(project=cast.project, title="Motion")
    question = make_question(sprint=sprint, epic=epic)  # AUTH-1
    keep = make_ticket("Keep me", sprint=sprint)  # AUTH-2
    skip = make_ticket("Gyro features v2", sprint=sprint, epic=epic)  # AUTH-3
    later = make_ticket("Motion dashboard", sprint=sprint)  # AUTH-4
    edit = make_ticket("Fuse motion and typing", epic=epic)  # AUTH-5 (backlog, same epic)
    done = force_status(make_ticket("Finished", sprint=sprint), TicketStatus.DONE)  # AUTH-6
    make_ticket("Unrelated")  # AUTH-7
    services.sprint_start(sprint=sprint, actor=cast.lead)
    services.ticket_answer(ticket=question, actor=cast.engineer, answer="No gain.", outcome=Outcome.REFUTED)
    question.refresh_from_db()
    return {"question": question, "keep": keep, "skip": skip, "later": later, "edit": edit, "done": done}


def test_candidates_are_the_open_tickets_of_the_sprint_and_the_epic(scene):
    keys = [t.key for t in selectors.reassessment_candidates(question=scene["question"])]
    assert keys == ["AUTH-2", "AUTH-3", "AUTH-4", "AUTH-5"]


def test_reassessing_applies_and_records_every_decision(cast, scene):
    reassessment = services.reassessment_create(
        question=scene["question"],
        actor=cast.lead,
        note="Motion adds nothing: focus on typing.",
        decisions=[
            D(ticket="AUTH-2", decision=Decision.KEEP),
            D(ticket="AUTH-3", decision=Decision.SKIP, reason="Motion was refuted"),
            D(ticket="AUTH-4", decision=Decision.BACKLOG),
            D(ticket="AUTH-5", decision=Decision.EDIT, changes={"title": "Typing-only model", "kind": "question"}),
        ],
    )
    assert reassessment.outcome == "refuted" and reassessment.question == scene["question"]
    decisions = {d.ticket.key: (d.decision, d.reason, d.changes) for d in reassessment.decisions.all()}
    assert decisions == {
        "AUTH-2": ("keep", "", {}),
        "AUTH-3": ("skip", "Motion was refuted", {}),
        "AUTH-4": ("backlog", "", {}),
        "AUTH-5": (
            "edit",
            "",
            {"title": ["Fuse motion and typing", "Typing-only model"], "kind": ["code", "question"]},
        ),
    }
    tickets = {t.number: t for t in Ticket.objects.all()}
    assert tickets[2].status == "todo" and tickets[2].sprint is not None
    assert (tickets[3].status, tickets[3].skip_reason) == ("skipped", "Motion was refuted")
    assert tickets[4].sprint is None and order_of(cast.project)[0] == "AUTH-4"
    assert (tickets[5].title, tickets[5].kind) == ("Typing-only model", "question")
    linked = TicketEvent.objects.filter(reassessment=reassessment).values_list("ticket__number", "field", "old", "new")
    assert sorted(linked) == [
        (3, "status", "todo", "skipped"),
        (4, "sprint", scene["later"].sprint_id, None),
        (5, "kind", "code", "question"),
    ]


@pytest.mark.parametrize(
    ("decisions", "field", "message"),
    [
        ([], "decisions", "Decide about at least one ticket."),
        ([D("AUTH-3", "skip")], "decisions[0].reason", "Say why AUTH-3 is skipped: skipping needs a reason."),
        ([D("AUTH-6", "keep")], "decisions[0].ticket", "AUTH-6 is done; only open tickets are reassessed."),
        ([D("AUTH-1", "keep")], "decisions[0].ticket", "AUTH-1 is the question being reassessed."),
        ([D("AUTH-5", "backlog")], "decisions[0].decision", "AUTH-5 is already in the backlog."),
        ([D("AUTH-2", "drop")], "decisions[0].decision", "'drop' is not one of keep, skip, backlog, edit."),
        ([D("AUTH-2", "edit")], "decisions[0].changes", "Say what changes in AUTH-2."),
        ([D("AUTH-2", "edit", changes={"status": "done"})], "decisions[0].changes",
         "Only title, kind, work_type, estimate can be edited here, not status."),
        ([D("AUTH-2", "edit", changes={"work_type": "x"})], "decisions[0].work_type",
         "Value 'x' is not a valid choice."),
        ([D("AUTH-99", "keep")], "decisions[0].ticket", "There is no ticket AUTH-99."),
        ([D("AUTH-2", "keep"), D("AUTH-2", "skip", "x")], "decisions[1].ticket", "AUTH-2 is listed twice."),
    ],
)  # fmt: skip
def test_bad_reassessments_are_named_and_change_nothing(cast, scene, decisions, field, message):
    # A valid first decision must not survive a later invalid one.
    with pytest.raises(ValidationError) as error:
        services.reassessment_create(question=scene["question"], actor=cast.lead, decisions=decisions)
    assert error.value.message_dict == {field: [message]}
    assert not Reassessment.objects.exists()
    assert Ticket.objects.get(number=3).status == "todo"


def test_a_valid_skip_is_undone_when_a_later_edit_fails(cast, scene):
    decisions = [D("AUTH-3", "skip", "refuted"), D("AUTH-2", "edit", changes={"title": ""})]
    with pytest.raises(ValidationError, match="cannot be blank"):
        services.reassessment_create(question=scene["question"], actor=cast.lead, decisions=decisions)
    assert Ticket.objects.get(number=3).status == "todo"
    assert not TicketEvent.objects.filter(field="status", new="skipped").exists()


def test_only_answered_questions_are_reassessed(cast, make_question, make_ticket):
    open_question = make_question()
    other = make_ticket()
    with pytest.raises(ValidationError, match="has no answer yet"):
        services.reassessment_create(question=open_question, actor=cast.lead, decisions=[D(other.key, "keep")])
    with pytest.raises(ValidationError, match="is a code ticket"):
        services.reassessment_create(question=other, actor=cast.lead, decisions=[D(open_question.key, "keep")])
