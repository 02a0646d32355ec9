"""Who hears about what: watchers, @mentions, sprints, verdicts and champions — never the one who did it."""

from __future__ import annotations

import datetime as dt

import pytest

from agileml import events
from inbox.models import Notification, Watcher
from tests.factories import MembershipFactory, UserFactory
from tickets import services
from tickets.models import Membership, Role, TicketKind, TicketStatus


def _inbox(user) -> list[tuple[str, str]]:
    return [(n.kind, n.text) for n in Notification.objects.filter(recipient=user).order_by("id")]


def _kinds(user) -> list[str]:
    return [kind for kind, _ in _inbox(user)]


@pytest.fixture
def ticket(cast):
    return services.ticket_create(
        project=cast.project, actor=cast.lead, title="Tune the threshold", work_type="algorithm_development"
    )


@pytest.mark.django_db
def test_the_author_watches_and_is_not_told_about_their_own_changes(cast, ticket):
    assert set(Watcher.objects.filter(ticket=ticket).values_list("user__username", flat=True)) == {"lead"}
    services.ticket_update(ticket=ticket, actor=cast.lead, status=TicketStatus.IN_PROGRESS)
    assert _inbox(cast.lead) == []


@pytest.mark.django_db
def test_the_assignee_is_told_and_then_watches(cast, ticket):
    services.ticket_update(ticket=ticket, actor=cast.lead, assignee=cast.engineer)
    assert _inbox(cast.engineer) == [("assigned", f"lead assigned {ticket.key} “Tune the threshold” to you")]
    services.ticket_update(ticket=ticket, actor=cast.lead, status=TicketStatus.IN_PROGRESS)
    assert _kinds(cast.engineer) == ["assigned", "status_changed"]
    services.ticket_update(ticket=ticket, actor=cast.engineer, status=TicketStatus.REVIEW)
    # The lead (author, watcher) hears about the engineer's move; the engineer does not hear about their own.
    assert _kinds(cast.lead) == ["status_changed"]
    assert _kinds(cast.engineer) == ["assigned", "status_changed"]
    note = Notification.objects.get(recipient=cast.lead)
    assert note.url == f"/t/{ticket.key}/" and note.actor == cast.engineer and note.ticket == ticket


@pytest.mark.django_db
def test_a_mention_tells_that_member_and_makes_them_watch(cast, ticket):
    services.comment_create(ticket=ticket, author=cast.engineer, body="@stakeholder have a look, and `@lead` in code")
    assert _inbox(cast.stakeholder) == [
        ("mentioned", f"engineer mentioned you in a comment on {ticket.key} “Tune the threshold”")
    ]
    assert _inbox(cast.lead) == []  # inside code is no mention, and commenting is not an event watchers hear of
    watching = set(Watcher.objects.filter(ticket=ticket).values_list("user__username", flat=True))
    assert watching == {"lead", "engineer", "stakeholder"}


@pytest.mark.django_db
def test_non_members_and_oneself_are_not_told(cast, ticket):
    services.comment_create(ticket=ticket, author=cast.engineer, body="@outsider @engineer @nobody see this")
    assert _inbox(cast.outsider) == [] and _inbox(cast.engineer) == []
    assert not Watcher.objects.filter(ticket=ticket, user=cast.outsider).exists()


@pytest.mark.django_db
def test_a_mention_in_a_new_tickets_description_and_in_an_answer(cast):
    question = services.ticket_create(
        project=cast.project, actor=cast.lead, title="Does motion help?", kind=TicketKind.QUESTION,
        work_type="data_exploration", question="Q?", hypothesis="H.", description="@engineer can you run it?",
    )  # fmt: skip
    assert _kinds(cast.engineer) == ["mentioned"]
    services.ticket_answer(ticket=question, actor=cast.engineer, answer="Yes, says @stakeholder.", outcome="supported")
    # Answering also closes the question: whoever watches hears of both.
    assert _kinds(cast.stakeholder)[0] == "mentioned"
    answered = [note for note in _inbox(cast.lead) if note[0] == "answered"]
    assert answered == [("answered", f"engineer answered {question.key} “Does motion help?”: supported")]


@pytest.mark.django_db
def test_a_removed_member_is_not_told_any_more(cast, ticket):
    services.ticket_update(ticket=ticket, actor=cast.lead, assignee=cast.engineer)
    services.membership_remove(membership=Membership.objects.get(project=cast.project, user=cast.engineer))
    services.ticket_update(ticket=ticket, actor=cast.lead, status=TicketStatus.IN_PROGRESS)
    assert _kinds(cast.engineer) == ["assigned"]


@pytest.mark.django_db
def test_sprints_are_told_to_every_member_but_the_lead_who_did_it(cast):
    sprint = services.sprint_create(
        project=cast.project, name="S1", start_date=dt.date(2026, 11, 2), end_date=dt.date(2026, 11, 13)
    )
    services.sprint_start(sprint=sprint, actor=cast.lead)
    services.sprint_close(sprint=sprint, actor=cast.lead, carry_over_to=None)
    for who in (cast.engineer, cast.stakeholder):
        assert _kinds(who) == ["sprint_started", "sprint_closed"]
        assert Notification.objects.filter(recipient=who).first().url == f"/p/AUTH/sprints/{sprint.pk}/"
    assert _inbox(cast.lead) == [] and _inbox(cast.outsider) == []


def _publish(kind, cast, actor, **payload):
    return events.publish(kind, project=cast.project, actor=actor, payload=payload)


@pytest.mark.django_db
def test_a_verdict_goes_to_the_watchers_and_to_whoever_asked(cast, ticket):
    _publish(
        events.EVALUATION_FINISHED, cast, cast.engineer, benchmark=1, benchmark_name="holdout", evaluation=7,
        status="succeeded", run="xgb", ticket=ticket.key, verdict="better", sentence="AUC rose by 0.02.",
    )  # fmt: skip
    text = "Evaluation of xgb on holdout finished: better than the champion. AUC rose by 0.02."
    assert _inbox(cast.engineer) == [("evaluation_finished", text)]  # the requester
    assert _inbox(cast.lead) == [("evaluation_finished", text)]  # the ticket's watcher
    assert Notification.objects.get(recipient=cast.lead).url == "/p/AUTH/evaluations/7/"
    assert _inbox(cast.stakeholder) == []


@pytest.mark.django_db
def test_a_new_champion_goes_to_the_leads_and_the_watchers(cast, ticket):
    second_lead = UserFactory(username="lead2")
    MembershipFactory(project=cast.project, user=second_lead, role=Role.LEAD)
    services.comment_create(ticket=ticket, author=cast.stakeholder, body="Following this.")
    _publish(
        events.CHAMPION_PROMOTED, cast, cast.lead, benchmark=3, benchmark_name="holdout", run="xgb", ticket=ticket.key
    )
    text = "lead promoted xgb to champion of holdout"
    assert _inbox(second_lead) == [("champion_promoted", text)]
    assert _inbox(cast.stakeholder) == [("champion_promoted", text)]
    assert _inbox(cast.lead) == [] and _inbox(cast.engineer) == []


@pytest.mark.django_db
def test_an_event_for_twenty_watchers_is_one_insert(cast, ticket, django_assert_num_queries):
    people = [UserFactory(username=f"w{i}") for i in range(20)]
    for person in people:
        MembershipFactory(project=cast.project, user=person, role=Role.STAKEHOLDER)
    Watcher.objects.bulk_create([Watcher(ticket=ticket, user=p) for p in people])
    event = events.Event(
        type=events.TICKET_STATUS_CHANGED, project_id=cast.project.pk, project_key="AUTH", actor_id=cast.engineer.pk,
        actor_username="engineer", payload={"ticket": ticket.key, "title": ticket.title, "old": "todo", "new": "done"},
        occurred_at=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    from inbox.services import notifications_for_event

    # ticket, its watchers, members with their e-mail choice, one insert of 21 notifications
    with django_assert_num_queries(4):
        rows = notifications_for_event(event)
    assert len(rows) == 21 and all(r.pk for r in rows)


@pytest.mark.django_db
def test_events_no_one_is_told_about_write_nothing(cast, ticket):
    _publish(events.RUN_ATTACHED, cast, cast.engineer, ticket=ticket.key, title=ticket.title, run="xgb")
    assert Notification.objects.count() == 0
