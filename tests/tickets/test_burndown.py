"""Burndown and burnup replayed from history, against cases computed by hand."""

import datetime

import pytest

from tickets.burndown import Change, replay_sprint

UTC = datetime.UTC
SPRINT, NEXT = 7, 8


def at(day: int, hour: int, month: int = 11) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, tzinfo=UTC)


def created(ticket, when, sprint=None, status="todo"):
    return Change(ticket, "created", None, {"status": status, "sprint": sprint}, when)


def moved(ticket, when, old, new):
    return Change(ticket, "sprint", old, new, when)


def status(ticket, when, old, new):
    return Change(ticket, "status", old, new, when)


# A week-long sprint (Mon 2 Nov – Fri 6 Nov) with every kind of scope change.
HISTORY = [
    *(created(t, at(30, 9, 10), SPRINT) for t in (1, 2, 3, 4)),
    created(5, at(30, 9, 10)),  # backlog
    created(6, at(30, 9, 10), SPRINT),
    status(6, at(31, 9, 10), "todo", "done"),  # finished before the sprint started
    # Mon: 1 started and finished.
    status(1, at(2, 10), "todo", "in_progress"),
    status(1, at(2, 15), "in_progress", "done"),
    # Tue: 5 pulled in from the backlog, 7 created in the sprint.
    moved(5, at(3, 9), None, SPRINT),
    created(7, at(3, 11), SPRINT),
    # Wed: 3 sent back to the backlog, 4 skipped after an answer.
    moved(3, at(4, 10), SPRINT, None),
    status(4, at(4, 12), "todo", "skipped"),
    # Thu: 2 done, 1 reopened.
    status(2, at(5, 10), "todo", "done"),
    status(1, at(5, 16), "done", "in_progress"),
    # Fri: 5 done, then the close carries 1 and 7 over to the next sprint.
    status(5, at(6, 11), "todo", "done"),
    moved(7, at(6, 17), SPRINT, NEXT),
    moved(1, at(6, 17), SPRINT, NEXT),
    # Later, in the next sprint: must not change this sprint's story.
    status(1, at(9, 10), "in_progress", "done"),
    moved(3, at(10, 10), None, NEXT),
]


STARTED, CLOSED = at(2, 9), at(6, 17)


def replay(history=HISTORY, *, started=STARTED, ended=CLOSED, closed=True, start=2, end=6):
    return replay_sprint(
        sprint_id=SPRINT,
        changes=history,
        start_date=datetime.date(2026, 11, start),
        end_date=datetime.date(2026, 11, end),
        started_at=started,
        ended_at=ended,
        closed=closed,
        tz=UTC,
    )


def test_the_commitment_is_what_the_sprint_held_when_it_started():
    progress = replay()
    assert progress.committed == [1, 2, 3, 4, 6]
    assert (progress.start_open, progress.start_done, progress.start_scope) == (4, 1, 5)
    assert progress.ideal() == [(at(2, 0), 4.0), (at(7, 0), 0.0)]


def test_each_day_counts_open_done_and_skipped_tickets_at_its_end():
    days = replay().days
    assert [d.day.day for d in days] == [2, 3, 4, 5, 6]
    # Hand-computed: (open, done, skipped) at each day's end.
    assert [(d.open, d.done, d.skipped) for d in days] == [(3, 2, 0), (5, 2, 0), (3, 2, 1), (3, 2, 1), (2, 3, 1)]
    assert [d.remaining for d in days] == [3, 5, 3, 3, 2]
    assert [d.scope for d in days] == [5, 7, 5, 5, 5]


def test_scope_changes_are_listed_on_the_day_they_happened():
    days = replay().days
    assert [d.added for d in days] == [[], [5, 7], [], [], []]
    assert [d.removed for d in days] == [[], [], [3], [], []]
    assert [d.skipped_today for d in days] == [[], [], [4], [], []]
    assert [d.completed for d in days] == [[1], [], [], [2], [5]]
    assert [d.reopened for d in days] == [[], [], [], [1], []]


def test_the_close_carries_unfinished_work_over_instead_of_removing_it():
    progress = replay()
    assert progress.summary() == {
        "committed": [1, 2, 3, 4, 6],
        "added": [5, 7],
        "removed": [3],
        "completed": [2, 5, 6],
        "skipped": [4],
        "carried_over": [1, 7],
    }
    assert progress.end.remaining == 2


def test_later_history_never_rewrites_a_closed_sprint():
    before = replay(HISTORY[:-2])
    after = replay(HISTORY)
    assert [(d.open, d.done, d.skipped) for d in after.days] == [(d.open, d.done, d.skipped) for d in before.days]
    assert after.summary() == before.summary()


def test_the_next_sprint_starts_with_the_carried_over_work_committed():
    nxt = replay_sprint(
        sprint_id=NEXT,
        changes=HISTORY,
        start_date=datetime.date(2026, 11, 9),
        end_date=datetime.date(2026, 11, 13),
        started_at=at(9, 9),
        ended_at=at(11, 12),
        closed=False,
        tz=UTC,
    )
    assert nxt.committed == [1, 7]
    # Running sprint: the days stop today (the 11th).
    assert [(d.day.day, d.open, d.done) for d in nxt.days] == [(9, 1, 1), (10, 2, 1), (11, 2, 1)]
    assert nxt.days[1].added == [3]
    assert nxt.summary()["carried_over"] == [3, 7]


def test_a_late_start_shows_the_commitment_on_the_days_before_it():
    progress = replay(started=at(3, 10))
    first = progress.days[0]
    # At the start (Tue 10:00) 1 was done (Mon) and 5 had been pulled in (Tue 9:00); 7 came later.
    assert progress.committed == [1, 2, 3, 4, 5, 6]
    assert (first.open, first.done) == (4, 2)
    assert first.added == []
    assert progress.days[1].added == [7]


def test_a_sprint_closed_after_its_end_date_gets_the_extra_days():
    progress = replay(end=5)
    assert [d.day.day for d in progress.days] == [2, 3, 4, 5, 6]
    assert progress.ideal()[-1] == (at(6, 0), 0.0)


def test_days_are_cut_at_local_midnight():
    tz = datetime.timezone(datetime.timedelta(hours=-5))
    history = [created(1, at(1, 9), SPRINT), status(1, at(3, 2), "todo", "done")]  # 21:00 on the 2nd, local
    progress = replay_sprint(
        sprint_id=SPRINT,
        changes=history,
        start_date=datetime.date(2026, 11, 2),
        end_date=datetime.date(2026, 11, 3),
        started_at=at(2, 14),
        ended_at=at(3, 20),
        closed=True,
        tz=tz,
    )
    assert [(d.day.day, d.done) for d in progress.days] == [(2, 1), (3, 1)]
    in_utc = replay_sprint(
        sprint_id=SPRINT,
        changes=history,
        start_date=datetime.date(2026, 11, 2),
        end_date=datetime.date(2026, 11, 3),
        started_at=at(2, 14),
        ended_at=at(3, 20),
        closed=True,
        tz=UTC,
    )
    assert [(d.day.day, d.done) for d in in_utc.days] == [(2, 0), (3, 1)]


def test_history_that_starts_mid_life_uses_the_old_values():
    history = [moved(1, at(1, 9), None, SPRINT), status(2, at(3, 9), "in_progress", "done"), moved(2, at(1, 9), 3, 7)]
    progress = replay(history)
    assert progress.committed == [1, 2]
    assert (progress.start_open, progress.start_done) == (2, 0)
    assert progress.days[1].completed == [2]


def test_an_empty_sprint_has_flat_zero_lines():
    progress = replay([])
    assert all((d.open, d.done, d.skipped) == (0, 0, 0) for d in progress.days)
    assert progress.summary()["committed"] == []


def test_the_end_may_not_come_before_the_start():
    with pytest.raises(ValueError, match="before"):
        replay(started=at(6, 9), ended=at(2, 9))
