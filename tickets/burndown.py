"""Sprint burndown and burnup, replayed from ticket history. Pure: no Django imports.

A sprint's progress is never read from the tickets as they are now: tickets move on
(carried over, finished in a later sprint, reopened), and a past sprint must keep
telling the same story. Instead the ticket history (``TicketEvent`` rows, handed in
as :class:`Change`) is replayed up to each day's end, so only what had happened by
then counts.

Units are tickets, not estimates: estimates are optional in AgileML and progress is
not measured in points.

Definitions (at a moment ``m``, for the tickets whose sprint at ``m`` is this one):

- *open*: status to do, in progress or review; *done*; *skipped* (dropped on purpose);
- *scope* = open + done: skipping takes a ticket out of the scope, as a decision;
- *committed*: the tickets in the sprint when it started;
- *added*: tickets that entered the sprint after it started (created in it or moved in);
- *removed*: tickets that were moved out of the sprint before it closed. The close
  itself moves unfinished tickets out (carried over); those are *carried over*, not
  removed, and they still count as open at the sprint's end.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

OPEN_STATUSES = frozenset({"todo", "in_progress", "review"})
DONE = "done"
SKIPPED = "skipped"

CREATED = "created"
SPRINT = "sprint"
STATUS = "status"


@dataclass(frozen=True)
class Change:
    """One history row: ``field`` of ``ticket`` went from ``old`` to ``new`` at ``at``.

    For ``created`` rows, ``new`` is the initial state ``{"status", "sprint", ...}``.
    """

    ticket: int
    field: str
    old: Any
    new: Any
    at: datetime.datetime


@dataclass
class DayProgress:
    """The sprint at the end of ``day`` (or at the sprint's end / now, if earlier)."""

    day: datetime.date
    at: datetime.datetime  # the moment the counts describe
    ends: datetime.datetime  # the day's last moment (the next local midnight)
    open: int
    done: int
    skipped: int
    added: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    skipped_today: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)

    @property
    def scope(self) -> int:
        return self.open + self.done

    @property
    def remaining(self) -> int:
        return self.open

    @property
    def shown_at(self) -> datetime.datetime:
        """Where a chart puts the day: its end, or now for the running day."""
        return min(self.at, self.ends)


@dataclass
class SprintProgress:
    """A replayed sprint: the state at its start, then one :class:`DayProgress` per day."""

    sprint_id: int
    start: datetime.datetime  # the start of the first day, where the lines begin
    planned_end: datetime.datetime  # the end of the last planned day, where the ideal line reaches 0
    committed: list[int]
    start_open: int
    start_done: int
    days: list[DayProgress]
    # Per ticket in the sprint at the end: its status then.
    final: dict[int, str]
    added: list[int]
    removed: list[int]
    reopened: list[int]
    closed: bool

    @property
    def start_scope(self) -> int:
        return self.start_open + self.start_done

    @property
    def end(self) -> DayProgress | None:
        return self.days[-1] if self.days else None

    @property
    def completed(self) -> list[int]:
        return sorted(t for t, s in self.final.items() if s == DONE)

    @property
    def skipped(self) -> list[int]:
        return sorted(t for t, s in self.final.items() if s == SKIPPED)

    @property
    def unfinished(self) -> list[int]:
        """Open at the end: carried over when the sprint closed, still to do while it runs."""
        return sorted(t for t, s in self.final.items() if s in OPEN_STATUSES)

    def ideal(self) -> list[tuple[datetime.datetime, float]]:
        """The straight line from the open tickets at the start to none at the planned end."""
        return [(self.start, float(self.start_open)), (self.planned_end, 0.0)]

    def summary(self) -> dict[str, list[int]]:
        """The same buckets a sprint's close snapshot freezes, as ticket ids."""
        committed = set(self.committed)
        now_in = set(self.final)
        return {
            "committed": sorted(committed),
            "added": sorted(set(self.added) - committed),
            "removed": sorted((committed | set(self.added) | set(self.removed)) - now_in),
            "completed": self.completed,
            "skipped": self.skipped,
            "carried_over": self.unfinished,
        }


def _day_end(day: datetime.date, tz: datetime.tzinfo) -> datetime.datetime:
    return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(0), tzinfo=tz)


class _Replay:
    """Ticket states with running open/done/skipped counts for one sprint."""

    def __init__(self, sprint_id: int) -> None:
        self.sprint_id = sprint_id
        self.sprint: dict[int, Any] = {}
        self.status: dict[int, str] = {}
        self.counts = {"open": 0, "done": 0, "skipped": 0}

    def _bucket(self, ticket: int) -> str | None:
        if self.sprint.get(ticket) != self.sprint_id:
            return None
        status = self.status.get(ticket, "todo")
        if status == DONE:
            return "done"
        if status == SKIPPED:
            return "skipped"
        return "open"

    def _set(self, ticket: int, *, sprint: Any = None, status: str | None = None, sprint_given: bool = False) -> None:
        before = self._bucket(ticket)
        if sprint_given:
            self.sprint[ticket] = sprint
        if status is not None:
            self.status[ticket] = status
        after = self._bucket(ticket)
        if before != after:
            if before is not None:
                self.counts[before] -= 1
            if after is not None:
                self.counts[after] += 1

    def in_sprint(self, ticket: int) -> bool:
        return self.sprint.get(ticket) == self.sprint_id

    def apply(self, change: Change) -> None:
        ticket = change.ticket
        if change.field == CREATED:
            state = change.new if isinstance(change.new, dict) else {}
            self._set(ticket, sprint=state.get("sprint"), status=state.get("status") or "todo", sprint_given=True)
        elif change.field == SPRINT:
            if ticket not in self.sprint:
                # History that starts mid-life: the row's old value is where the ticket was.
                self.sprint[ticket] = change.old
            self._set(ticket, sprint=change.new, sprint_given=True)
        elif change.field == STATUS:
            if ticket not in self.status and change.old is not None:
                self.status[ticket] = change.old
            self._set(ticket, status=change.new)


def _record(
    today: DayProgress, totals: dict[str, list[int]], change: Change, *, was_in: bool, now_in: bool, old_status: str
) -> None:
    """File a replayed change under the day's lists: a ticket added, removed, skipped, completed or reopened."""
    ticket = change.ticket
    if now_in and not was_in:
        today.added.append(ticket)
        totals["added"].append(ticket)
    elif was_in and not now_in:
        today.removed.append(ticket)
        totals["removed"].append(ticket)
    elif now_in and change.field == STATUS:
        if change.new == SKIPPED:
            today.skipped_today.append(ticket)
        elif change.new == DONE and old_status != DONE:
            today.completed.append(ticket)
        elif old_status == DONE and change.new in OPEN_STATUSES:
            today.reopened.append(ticket)
            totals["reopened"].append(ticket)


def replay_sprint(
    *,
    sprint_id: int,
    changes: Iterable[Change],
    start_date: datetime.date,
    end_date: datetime.date,
    started_at: datetime.datetime,
    ended_at: datetime.datetime,
    closed: bool,
    tz: datetime.tzinfo,
) -> SprintProgress:
    """Replay ``changes`` (every history row of every ticket that was ever in the sprint,
    in time order) into the sprint's day-by-day progress.

    Parameters
    ----------
    started_at : when the sprint started; what was in it then is the commitment.
    ended_at : when it closed (``closed=True``) or now, for a running sprint. Nothing
        after it counts; with ``closed``, tickets leaving the sprint at that very moment
        are the close's carry-over, so they stay open at the end rather than "removed".
    tz : the time zone whose midnights separate the days.

    Returns
    -------
    SprintProgress with one day per calendar day from ``start_date`` to ``end_date`` (or
    to the close, if later), cut at the day of ``ended_at`` for a running sprint.
    """
    if ended_at < started_at:
        raise ValueError("ended_at is before started_at")
    ordered = sorted(changes, key=lambda c: c.at)  # stable: rows keep their id order within a moment
    replay = _Replay(sprint_id)
    position = 0
    while position < len(ordered) and ordered[position].at <= started_at:
        replay.apply(ordered[position])
        position += 1
    committed = sorted(t for t in replay.sprint if replay.in_sprint(t))
    start_open, start_done = replay.counts["open"], replay.counts["done"]

    last_day = max(end_date, ended_at.astimezone(tz).date()) if closed else ended_at.astimezone(tz).date()
    totals: dict[str, list[int]] = {"added": [], "removed": [], "reopened": []}
    days: list[DayProgress] = []
    day = start_date
    while day <= max(last_day, start_date):
        ends = _day_end(day, tz)
        moment = min(max(ends, started_at), ended_at)
        today = DayProgress(day=day, at=moment, ends=ends, open=0, done=0, skipped=0)
        while position < len(ordered) and ordered[position].at <= moment:
            change = ordered[position]
            position += 1
            was_in = replay.in_sprint(change.ticket)
            if closed and change.field == SPRINT and was_in and change.at >= ended_at:
                continue  # the close's carry-over: the ticket ends the sprint unfinished
            old_status = replay.status.get(change.ticket, change.old if change.field == STATUS else "todo")
            replay.apply(change)
            _record(today, totals, change, was_in=was_in, now_in=replay.in_sprint(change.ticket), old_status=old_status)
        today.open, today.done, today.skipped = replay.counts["open"], replay.counts["done"], replay.counts["skipped"]
        days.append(today)
        day += datetime.timedelta(days=1)

    final = {t: replay.status.get(t, "todo") for t in replay.sprint if replay.in_sprint(t)}
    return SprintProgress(
        sprint_id=sprint_id,
        start=datetime.datetime.combine(start_date, datetime.time(0), tzinfo=tz),
        planned_end=_day_end(end_date, tz),
        committed=committed,
        start_open=start_open,
        start_done=start_done,
        days=days,
        final=final,
        added=totals["added"],
        removed=totals["removed"],
        reopened=totals["reopened"],
        closed=closed,
    )
