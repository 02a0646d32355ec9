import pytest
from django.core.exceptions import ValidationError

from tests.factories import EpicFactory, ProjectFactory
from tests.tickets.conftest import force_status
from tickets import clock, services
from tickets.models import Outcome, Project, Ticket, TicketEvent, TicketKind, TicketStatus

pytestmark = pytest.mark.django_db

S = TicketStatus
ALLOWED = {
    (S.TODO, S.IN_PROGRESS), (S.TODO, S.REVIEW), (S.TODO, S.DONE), (S.TODO, S.SKIPPED),
    (S.IN_PROGRESS, S.TODO), (S.IN_PROGRESS, S.REVIEW), (S.IN_PROGRESS, S.DONE), (S.IN_PROGRESS, S.SKIPPED),
    (S.REVIEW, S.TODO), (S.REVIEW, S.IN_PROGRESS), (S.REVIEW, S.DONE), (S.REVIEW, S.SKIPPED),
    (S.DONE, S.IN_PROGRESS), (S.DONE, S.REVIEW),
    (S.SKIPPED, S.TODO),
}  # fmt: skip


def test_keys_are_sequential_per_project(cast, make_ticket):
    keys = [make_ticket(f"T{i}").key for i in range(3)]
    assert keys == ["AUTH-1", "AUTH-2", "AUTH-3"]
    assert Project.objects.get(pk=cast.project.pk).ticket_counter == 3


def test_create_records_the_initial_state(cast, make_ticket, make_sprint):
    sprint = make_sprint()
    epic = EpicFactory(project=cast.project)
    ticket = make_ticket(sprint=sprint, epic=epic, assignee=cast.engineer, estimate=3)
    (event,) = TicketEvent.objects.filter(ticket=ticket)
    assert event.field == "created" and event.old is None and event.actor == cast.lead
    assert event.new == {
        "status": "todo",
        "sprint": sprint.pk,
        "epic": epic.pk,
        "assignee": cast.engineer.pk,
        "kind": "code",
        "estimate": 3,
    }
    assert event.created_at == ticket.created_at


def test_new_tickets_go_to_the_bottom(cast, make_ticket):
    first, second = make_ticket("a"), make_ticket("b")
    assert second.rank > first.rank


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "  "}, "title"),
        ({"work_type": "coding"}, "work_type"),
        ({"kind": "essay"}, "kind"),
        ({"deliverable_url": "not a url"}, "deliverable_url"),
    ],
)
def test_create_rejects_bad_fields_and_burns_no_key(cast, make_ticket, fields, message):
    with pytest.raises(ValidationError) as error:
        make_ticket(**fields)
    assert message in error.value.message_dict
    assert Ticket.objects.count() == 0
    assert Project.objects.get(pk=cast.project.pk).ticket_counter == 0


def test_assignee_must_be_a_member(cast, make_ticket):
    with pytest.raises(ValidationError, match="outsider is not a member of AUTH"):
        make_ticket(assignee=cast.outsider)


def test_epic_must_belong_to_the_project(cast, make_ticket):
    with pytest.raises(ValidationError, match="belongs to another project"):
        make_ticket(epic=EpicFactory(project=ProjectFactory(key="ELSE")))


def test_tickets_cannot_be_created_in_a_closed_sprint(cast, make_ticket, make_sprint):
    sprint = make_sprint(state="active")
    services.sprint_close(sprint=sprint, actor=cast.lead, carry_over_to=None)
    with pytest.raises(ValidationError, match="closed sprints are frozen"):
        make_ticket(sprint=sprint)


@pytest.mark.parametrize("source", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_transition(cast, make_ticket, source, target):
    ticket = force_status(make_ticket(), source, skip_reason="earlier" if source == S.SKIPPED else "")
    before = TicketEvent.objects.count()
    if source == target:
        services.ticket_transition(ticket=ticket, actor=cast.engineer, status=target, reason="x")
        assert TicketEvent.objects.count() == before
    elif (source, target) in ALLOWED:
        done = services.ticket_transition(ticket=ticket, actor=cast.engineer, status=target, reason="no longer needed")
        assert done.status == target
        event = TicketEvent.objects.latest("id")
        assert (event.field, event.old, event.new, event.actor) == ("status", source, target, cast.engineer)
        assert Ticket.objects.get(pk=ticket.pk).skip_reason == ("no longer needed" if target == S.SKIPPED else "")
    else:
        with pytest.raises(ValidationError) as error:
            services.ticket_transition(ticket=ticket, actor=cast.engineer, status=target, reason="x")
        assert error.value.message_dict["status"][0].startswith(f"AUTH-1 is {S(source).label}: it can move to")
        assert Ticket.objects.get(pk=ticket.pk).status == source
        assert TicketEvent.objects.count() == before


def test_unknown_status_is_named(cast, make_ticket):
    with pytest.raises(ValidationError, match="'finished' is not a status"):
        services.ticket_transition(ticket=make_ticket(), actor=cast.lead, status="finished")


@pytest.mark.parametrize("reason", ["", "   "])
def test_skipping_needs_a_reason(cast, make_ticket, reason):
    ticket = make_ticket()
    with pytest.raises(ValidationError) as error:
        services.ticket_transition(ticket=ticket, actor=cast.lead, status=S.SKIPPED, reason=reason)
    assert error.value.message_dict == {"skip_reason": ["Say why AUTH-1 is skipped: skipping needs a reason."]}
    assert Ticket.objects.get(pk=ticket.pk).status == S.TODO


def test_skip_reason_is_kept_on_the_event_and_cleared_on_reinstating(cast, make_ticket):
    ticket = make_ticket()
    services.ticket_transition(ticket=ticket, actor=cast.lead, status=S.SKIPPED, reason="Motion data is too noisy")
    assert TicketEvent.objects.latest("id").note == "Motion data is too noisy"
    back = services.ticket_transition(ticket=ticket, actor=cast.lead, status=S.TODO)
    assert back.skip_reason == ""
    # The reason stays in the history.
    assert TicketEvent.objects.filter(ticket=ticket, field="status", new="skipped").get().note == (
        "Motion data is too noisy"
    )


def test_a_question_is_not_done_without_its_answer(cast, make_question):
    ticket = force_status(make_question(), S.IN_PROGRESS)
    with pytest.raises(ValidationError) as error:
        services.ticket_transition(ticket=ticket, actor=cast.engineer, status=S.DONE)
    assert error.value.message_dict["status"] == [
        "AUTH-1 is a question: it needs answer, outcome before it can be done (answer it to close it)."
    ]
    assert Ticket.objects.get(pk=ticket.pk).status == S.IN_PROGRESS


def test_a_code_ticket_can_be_done_without_a_deliverable(cast, make_ticket):
    ticket = force_status(make_ticket(), S.REVIEW)
    assert services.ticket_transition(ticket=ticket, actor=cast.engineer, status=S.DONE).status == S.DONE


def test_answering_closes_the_question_with_its_history(cast, make_question):
    ticket = force_status(make_question(), S.IN_PROGRESS)
    answered = services.ticket_answer(
        ticket=ticket, actor=cast.engineer, answer="AUC rose by **0.03**.", outcome=Outcome.SUPPORTED
    )
    assert (answered.status, answered.outcome, answered.answer) == (S.DONE, "supported", "AUC rose by **0.03**.")
    assert answered.answered_at is not None
    events = list(TicketEvent.objects.filter(ticket=ticket).exclude(field="created").values_list("field", "old", "new"))
    assert events == [
        ("answer", None, "AUC rose by **0.03**."),
        ("outcome", None, "supported"),
        ("status", "in_progress", "done"),
    ]


def test_revising_an_answer_records_it_without_reopening(cast, make_question):
    ticket = make_question()
    services.ticket_answer(ticket=ticket, actor=cast.engineer, answer="Yes.", outcome=Outcome.SUPPORTED)
    services.ticket_answer(ticket=ticket, actor=cast.lead, answer="Only for typing.", outcome=Outcome.INCONCLUSIVE)
    last = list(TicketEvent.objects.filter(ticket=ticket).order_by("-id").values_list("field", "old", "new")[:2])
    assert last == [("outcome", "supported", "inconclusive"), ("answer", "Yes.", "Only for typing.")]
    assert TicketEvent.objects.filter(ticket=ticket, field="status").count() == 1


@pytest.mark.parametrize(
    ("fields", "answer", "outcome", "field", "message"),
    [
        ({"question": ""}, "x", "supported", "question", "State the question of AUTH-1 before answering it."),
        ({"hypothesis": ""}, "x", "supported", "hypothesis", "State the hypothesis of AUTH-1 before answering it."),
        ({}, "  ", "supported", "answer", "Write the answer: what did you find?"),
        ({}, "x", "maybe", "outcome", "Choose an outcome: supported, refuted, inconclusive."),
    ],
)
def test_answer_needs_question_hypothesis_answer_and_outcome(
    cast, make_question, fields, answer, outcome, field, message
):
    ticket = make_question(**fields)
    with pytest.raises(ValidationError) as error:
        services.ticket_answer(ticket=ticket, actor=cast.engineer, answer=answer, outcome=outcome)
    assert error.value.message_dict == {field: [message]}
    assert Ticket.objects.get(pk=ticket.pk).status == S.TODO


def test_code_tickets_and_skipped_questions_are_not_answered(cast, make_ticket, make_question):
    with pytest.raises(ValidationError, match="only question tickets are answered"):
        services.ticket_answer(ticket=make_ticket(), actor=cast.lead, answer="x", outcome="supported")
    skipped = force_status(make_question(), S.SKIPPED)
    with pytest.raises(ValidationError, match="reinstate it before answering"):
        services.ticket_answer(ticket=skipped, actor=cast.lead, answer="x", outcome="supported")


def test_a_done_code_ticket_cannot_become_an_unanswered_question(cast, make_ticket):
    ticket = force_status(make_ticket(), S.DONE)
    with pytest.raises(ValidationError, match="is a question: it needs question, hypothesis, answer, outcome"):
        services.ticket_update(ticket=ticket, actor=cast.lead, kind=TicketKind.QUESTION)
    assert Ticket.objects.get(pk=ticket.pk).kind == "code"


def test_update_records_each_tracked_change(cast, make_ticket, make_sprint):
    sprint, epic = make_sprint(), EpicFactory(project=cast.project)
    ticket = make_ticket()
    services.ticket_update(
        ticket=ticket,
        actor=cast.lead,
        title="Renamed",
        assignee=cast.engineer,
        epic=epic,
        sprint=sprint,
        kind=TicketKind.QUESTION,
        estimate=5,
        status=S.IN_PROGRESS,
    )
    changes = set(TicketEvent.objects.filter(ticket=ticket).exclude(field="created").values_list("field", "old", "new"))
    assert changes == {
        ("assignee", None, cast.engineer.pk),
        ("epic", None, epic.pk),
        ("sprint", None, sprint.pk),
        ("kind", "code", "question"),
        ("estimate", None, 5),
        ("status", "todo", "in_progress"),
    }
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert (fresh.title, fresh.sprint, fresh.epic, fresh.assignee) == ("Renamed", sprint, epic, cast.engineer)


def test_an_update_that_changes_nothing_writes_no_history(cast, make_ticket):
    ticket = make_ticket(assignee=cast.engineer)
    services.ticket_update(ticket=ticket, actor=cast.lead, assignee=cast.engineer, title=ticket.title)
    assert TicketEvent.objects.filter(ticket=ticket).count() == 1


def test_a_failed_update_changes_nothing(cast, make_ticket):
    ticket = make_ticket()
    with pytest.raises(ValidationError):
        services.ticket_update(ticket=ticket, actor=cast.lead, assignee=cast.engineer, status=S.SKIPPED)
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert (fresh.assignee, fresh.status) == (None, S.TODO)
    assert TicketEvent.objects.filter(ticket=ticket).count() == 1


def test_tickets_of_a_closed_sprint_are_frozen(cast, make_ticket, make_sprint):
    sprint = make_sprint(state="active")
    ticket = force_status(make_ticket(sprint=sprint), S.DONE)
    services.sprint_close(sprint=sprint, actor=cast.lead, carry_over_to=None)
    with pytest.raises(ValidationError, match="belongs to the closed sprint Sprint 1"):
        services.ticket_transition(ticket=ticket, actor=cast.lead, status=S.IN_PROGRESS)
    with pytest.raises(ValidationError, match="belongs to the closed sprint Sprint 1"):
        services.ticket_update(ticket=ticket, actor=cast.lead, sprint=None)
    # Words can still be corrected.
    assert services.ticket_update(ticket=ticket, actor=cast.lead, title="Typo fixed").title == "Typo fixed"


def test_history_uses_the_service_clock(cast, make_ticket):
    import datetime

    moment = datetime.datetime(2026, 9, 1, 9, 30, tzinfo=datetime.UTC)
    with clock.frozen_at(moment):
        ticket = make_ticket()
        services.ticket_transition(ticket=ticket, actor=cast.lead, status=S.IN_PROGRESS)
    assert set(TicketEvent.objects.filter(ticket=ticket).values_list("created_at", flat=True)) == {moment}
    assert Ticket.objects.get(pk=ticket.pk).created_at == moment


def test_only_untouched_tickets_can_be_deleted(cast, make_ticket, make_sprint):
    fresh = make_ticket()
    services.ticket_delete(ticket=fresh)
    assert not Ticket.objects.filter(pk=fresh.pk).exists()

    started = make_ticket(sprint=make_sprint(state="active"))
    with pytest.raises(ValidationError, match="skip it with a reason instead"):
        services.ticket_delete(ticket=started)
    worked_on = force_status(make_ticket(), S.IN_PROGRESS)
    with pytest.raises(ValidationError, match="skip it with a reason instead"):
        services.ticket_delete(ticket=worked_on)
