"""Burndown from the real ticket history that the planning services write."""

import datetime

import pytest
from django.utils import timezone

from experiments.dashboards import selectors
from tests.experiments.dashboard_story import build_story, moment
from tickets import clock, services
from tickets.models import Sprint

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(cast):
    return build_story(cast)


def test_a_closed_sprint_replays_to_exactly_its_frozen_snapshot(story):
    progress = selectors.sprint_progress(sprint=story.s1)
    names = {t.pk: t.key for t in story.tickets.values()}
    replayed = {bucket: [names[i] for i in ids] for bucket, ids in progress.summary().items()}
    snapshot = {bucket: story.s1.snapshot[bucket] for bucket in replayed}
    assert replayed == snapshot
    # And by hand: what the story did.
    assert snapshot == {
        "committed": ["AUTH-1", "AUTH-2", "AUTH-3", "AUTH-4"],
        "added": ["AUTH-5", "AUTH-6"],
        "removed": ["AUTH-5"],
        "completed": ["AUTH-1", "AUTH-2"],
        "skipped": ["AUTH-4"],
        "carried_over": ["AUTH-3", "AUTH-6"],
    }


def test_the_closed_sprint_burns_down_day_by_day_as_it_happened(story):
    progress = selectors.sprint_progress(sprint=story.s1)
    assert [d.remaining for d in progress.days] == [4, 4, 3, 2, 3, 2, 3, 2, 2, 2]
    assert [d.done for d in progress.days] == [0, 0, 1, 2, 2, 2, 2, 2, 2, 2]
    assert [len(d.added) for d in progress.days] == [0, 0, 0, 0, 1, 0, 1, 0, 0, 0]
    assert [len(d.removed) for d in progress.days] == [0, 0, 0, 0, 0, 0, 0, 1, 0, 0]
    assert [len(d.skipped_today) for d in progress.days] == [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]


def test_moving_tickets_later_never_rewrites_a_past_sprint(story):
    before = selectors.sprint_progress(sprint=story.s1)
    project, lead = story.cast.project, story.cast.lead
    # After the close: the carried-over tickets move on, get finished, go back to the backlog.
    services.tickets_move(project=project, actor=lead, keys=["AUTH-6"], sprint_id=None)
    services.ticket_transition(ticket=story.ticket("AUTH-3"), actor=lead, status="in_progress")
    services.tickets_move(project=project, actor=lead, keys=["AUTH-5"], sprint_id=story.s2.pk)
    after = selectors.sprint_progress(sprint=Sprint.objects.get(pk=story.s1.pk))
    assert [(d.open, d.done, d.skipped) for d in after.days] == [(d.open, d.done, d.skipped) for d in before.days]
    assert after.summary() == before.summary()


def test_the_running_sprint_starts_with_the_carried_over_work_and_reopens_count_again(story):
    lead = story.cast.lead
    s2 = Sprint.objects.get(pk=story.s2.pk)
    progress = selectors.sprint_progress(sprint=s2)
    assert progress.committed == sorted([story.tickets["c2"].pk, story.tickets["c3"].pk, story.tickets["q3"].pk])
    assert progress.end.remaining == 1  # AUTH-3 done, AUTH-7 answered; AUTH-6 open
    services.ticket_transition(ticket=story.ticket("AUTH-3"), actor=lead, status="in_progress")
    reopened = selectors.sprint_progress(sprint=s2)
    assert reopened.end.remaining == 2
    assert reopened.reopened == [story.tickets["c2"].pk]
    assert reopened.days[-1].day == timezone.localdate()


def test_a_planned_sprint_has_no_burndown(story):
    assert selectors.sprint_progress(sprint=story.s3) is None


def test_history_is_cut_at_the_moment_asked_for(story):
    s2 = Sprint.objects.get(pk=story.s2.pk)
    early = moment(story.s1_start + datetime.timedelta(days=15), 18)
    with clock.frozen_at(early):
        progress = selectors.sprint_progress(sprint=s2)
    # On its second day, Sprint 2 had finished AUTH-3 but not yet answered AUTH-7.
    assert progress.end.done == 1 and progress.end.remaining == 2
    assert progress.days[-1].day == early.date()
