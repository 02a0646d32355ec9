"""The demo plan: believable, built through the services (complete history), idempotent."""

import pytest
from django.core.management import call_command

from tickets import demo
from tickets.models import (
    Comment,
    Epic,
    Reassessment,
    ReassessmentDecision,
    Sprint,
    Ticket,
    TicketEvent,
    TicketKind,
    WorkType,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan():
    return demo.seed_plan()


def _fingerprint() -> dict:
    models = [Epic, Sprint, Ticket, TicketEvent, Comment, Reassessment, ReassessmentDecision]
    return {m.__name__: sorted(map(tuple, m.objects.values_list())) for m in models}


def test_seeding_twice_changes_nothing(plan):
    before = _fingerprint()
    again = demo.seed_plan()
    assert _fingerprint() == before
    assert {k: t.pk for k, t in again.tickets.items()} == {k: t.pk for k, t in plan.tickets.items()}


def test_the_seed_demo_command_loads_the_plan():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 - discard output
    assert Epic.objects.filter(project__key="AUTH").count() == 3


def test_the_plan_is_believable(plan):
    sprints = list(Sprint.objects.filter(project=plan.project).order_by("start_date"))
    assert [s.state for s in sprints] == ["closed", "closed", "closed", "active", "planned"]
    assert Epic.objects.filter(project=plan.project).count() == 3
    kinds = set(Ticket.objects.values_list("kind", "work_type"))
    assert {kind for kind, _ in kinds} == set(TicketKind.values)
    assert {work_type for _, work_type in kinds} == set(WorkType.values)
    outcomes = set(Ticket.objects.exclude(outcome="").values_list("outcome", flat=True))
    assert outcomes == {"supported", "refuted", "inconclusive"}
    reassessment = Reassessment.objects.get()
    assert reassessment.question.outcome == "refuted"
    assert {d.decision for d in reassessment.decisions.all()} == {"keep", "skip", "backlog", "edit"}
    # Every ticket in a closed sprint is finished; the backlog and the later sprints hold work.
    assert not Ticket.objects.filter(sprint__state="closed", status__in=["todo", "in_progress", "review"]).exists()
    assert Ticket.objects.filter(sprint__isnull=True).exists()
    assert Ticket.objects.filter(sprint__state="planned").exists()


def test_history_is_complete_and_dated_within_the_sprints(plan):
    for ticket in Ticket.objects.all():
        created = TicketEvent.objects.filter(ticket=ticket).order_by("created_at", "id").first()
        assert created.field == "created" and created.created_at == ticket.created_at
    for sprint in Sprint.objects.exclude(state="planned"):
        assert sprint.started_at.date() == sprint.start_date
        if sprint.state == "closed":
            assert sprint.closed_at.date() == sprint.end_date
            # Its tickets were finished while it ran, and nothing changed after it closed.
            finished = TicketEvent.objects.filter(ticket__sprint=sprint, field="status", new__in=["done", "skipped"])
            assert finished.count() == len(sprint.snapshot["completed"]) + len(sprint.snapshot["skipped"])
            assert all(sprint.started_at <= e.created_at <= sprint.closed_at for e in finished)
            later = TicketEvent.objects.filter(ticket__sprint=sprint, created_at__gt=sprint.closed_at)
            assert not later.exists()


def _replay_sprint_at(moment) -> dict[int, int | None]:
    """Each ticket's sprint at ``moment``, rebuilt from history alone."""
    where: dict[int, int | None] = {}
    for event in TicketEvent.objects.filter(created_at__lte=moment).order_by("created_at", "id"):
        if event.field == "created":
            where[event.ticket.number] = event.new["sprint"]
        elif event.field == "sprint":
            assert where[event.ticket.number] == event.old, "a sprint move is missing from the history"
            where[event.ticket.number] = event.new
    return where


def test_history_replays_to_each_sprints_commitment_and_to_today(plan):
    for sprint in Sprint.objects.exclude(state="planned"):
        at_start = _replay_sprint_at(sprint.started_at)
        committed = sorted(n for n, s in at_start.items() if s == sprint.pk)
        assert [f"AUTH-{n}" for n in committed] == sorted(sprint.committed, key=lambda k: int(k[5:]))
    from django.utils import timezone

    now = _replay_sprint_at(timezone.now())
    assert now == dict(Ticket.objects.values_list("number", "sprint_id"))


def test_only_the_demo_lead_may_create_projects():
    from tickets.access import can_create_projects

    people = demo.seed_people()
    assert can_create_projects(people.lead)
    assert not can_create_projects(people.engineer)
    assert not can_create_projects(people.stakeholder)
