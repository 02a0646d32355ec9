"""Reads for the dashboards and the demo pages. Each function does a fixed number of queries,
whatever the number of sprints, tickets, runs or evaluations.

Planning facts come from ticket history (``TicketEvent``), replayed by the pure
``experiments.burndown``; results facts (champions, challengers) from
``experiments.dashboards_results``.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, Subquery
from django.utils import timezone

from experiments.dashboards.models import DemoMaterial, GoalVerdict, ShareLink, ShareLinkUse, SprintReview
from tickets import clock
from tickets.burndown import Change, SprintProgress, replay_sprint
from tickets.models import (
    Outcome,
    Project,
    Sprint,
    SprintState,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketStatus,
    WorkType,
)

Field = TicketEvent.Field
REPLAYED_FIELDS = (Field.CREATED, Field.SPRINT, Field.STATUS)
# Columns of a ticket a dashboard row shows (the long Markdown fields stay in the database).
ROW_COLUMNS = (
    "id",
    "number",
    "kind",
    "work_type",
    "title",
    "status",
    "sprint_id",
    "outcome",
    "answered_at",
    "deliverable_url",
    "skip_reason",
)


# --- History ----------------------------------------------------------------------------
def sprint_changes(*, sprint: Sprint, until: datetime.datetime) -> list[Change]:
    """Every replayed history row (created, sprint, status) of every ticket that was ever in
    ``sprint``, up to ``until``, in time order: one query."""
    entered_or_left = (
        Q(field=Field.SPRINT, new=sprint.pk)
        | Q(field=Field.SPRINT, old=sprint.pk)
        | Q(field=Field.CREATED, new__sprint=sprint.pk)
    )
    ever_in = TicketEvent.objects.filter(ticket__project_id=sprint.project_id).filter(entered_or_left)
    rows = (
        TicketEvent.objects.filter(ticket_id__in=Subquery(ever_in.values("ticket_id")))
        .filter(field__in=REPLAYED_FIELDS, created_at__lte=until)
        .order_by("created_at", "id")
        .values_list("ticket_id", "field", "old", "new", "created_at")
    )
    return [Change(ticket, name, old, new, at) for ticket, name, old, new, at in rows]


def sprint_window(sprint: Sprint, *, now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime] | None:
    """When the sprint ran: from its start to its close (or now). None if it never started."""
    if sprint.started_at is None:
        return None
    if sprint.state == SprintState.CLOSED and sprint.closed_at is not None:
        return sprint.started_at, sprint.closed_at
    return sprint.started_at, max(now, sprint.started_at)


def sprint_progress(*, sprint: Sprint, now: datetime.datetime | None = None) -> SprintProgress | None:
    """The sprint replayed day by day from history (None for a sprint that has not started): one query."""
    now = now or clock.now()
    window = sprint_window(sprint, now=now)
    if window is None:
        return None
    started, ended = window
    closed = sprint.state == SprintState.CLOSED
    return replay_sprint(
        sprint_id=sprint.pk,
        changes=sprint_changes(sprint=sprint, until=ended),
        start_date=sprint.start_date,
        end_date=sprint.end_date,
        started_at=started,
        ended_at=ended,
        closed=closed,
        tz=timezone.get_current_timezone(),
    )


# --- The sprint dashboard ---------------------------------------------------------------
@dataclass
class TicketRow:
    """A ticket as a dashboard shows it, with its status at the sprint's end when replayed."""

    id: int
    key: str
    kind: str
    work_type: str
    title: str
    status: str
    outcome: str
    answered_at: datetime.datetime | None
    deliverable_url: str
    skip_reason: str

    @property
    def status_label(self) -> str:
        return TicketStatus(self.status).label if self.status in TicketStatus.values else self.status

    @property
    def kind_label(self) -> str:
        return TicketKind(self.kind).label if self.kind in TicketKind.values else self.kind

    @property
    def work_type_label(self) -> str:
        return WorkType(self.work_type).label if self.work_type in WorkType.values else self.work_type

    @property
    def outcome_label(self) -> str:
        return Outcome(self.outcome).label if self.outcome in Outcome.values else ""

    @property
    def is_question(self) -> bool:
        return self.kind == TicketKind.QUESTION


def _rows(project: Project, tickets: list[dict[str, Any]], statuses: dict[int, str] | None = None) -> list[TicketRow]:
    rows = []
    for t in tickets:
        rows.append(
            TicketRow(
                id=t["id"],
                key=f"{project.key}-{t['number']}",
                kind=t["kind"],
                work_type=t["work_type"],
                title=t["title"],
                status=(statuses or {}).get(t["id"], t["status"]),
                outcome=t["outcome"],
                answered_at=t["answered_at"],
                deliverable_url=t["deliverable_url"],
                skip_reason=t["skip_reason"],
            )
        )
    return rows


SUMMARY_BUCKETS = (
    ("committed", "Committed", "At the start"),
    ("added", "Added", "During the sprint"),
    ("removed", "Removed", "Moved out before the end"),
    ("completed", "Done", "Finished in the sprint"),
    ("skipped", "Skipped", "Dropped on purpose"),
    ("carried_over", "Carried over", "Unfinished at the end"),
)


@dataclass
class SprintDashboard:
    project: Project
    sprint: Sprint
    progress: SprintProgress | None
    tickets: list[TicketRow]
    # Ticket keys per bucket: the frozen snapshot for closed sprints, replayed history otherwise.
    summary: dict[str, list[str]]
    from_snapshot: bool
    review: SprintReview | None
    names: dict[int, str] = field(default_factory=dict)

    @property
    def summary_cards(self) -> list[dict[str, Any]]:
        # Until the sprint closes nothing is carried over: its unfinished tickets are still open work.
        running = self.sprint.state != SprintState.CLOSED
        return [
            {"key": key, "label": label, "help": help_text, "tickets": self.summary.get(key, [])}
            if not (running and key == "carried_over")
            else {"key": "open", "label": "Open", "help": "Not finished yet", "tickets": self.summary.get(key, [])}
            for key, label, help_text in SUMMARY_BUCKETS
        ]

    @property
    def kind_counts(self) -> list[tuple[str, int]]:
        counts = Counter(t.kind for t in self.tickets)
        return [(label, counts.get(value, 0)) for value, label in TicketKind.choices]

    @property
    def status_counts(self) -> list[tuple[str, str, int]]:
        counts = Counter(t.status for t in self.tickets)
        return [(value, label, counts.get(value, 0)) for value, label in TicketStatus.choices]

    @property
    def work_type_rows(self) -> list[tuple[str, dict[str, int]]]:
        """(work type label, {status: count}) for each work type present, in the method's order."""
        by_type: dict[str, Counter] = defaultdict(Counter)
        for t in self.tickets:
            by_type[t.work_type][t.status] += 1
        return [(label, dict(by_type[value])) for value, label in WorkType.choices if value in by_type]

    @property
    def answered_questions(self) -> list[TicketRow]:
        rows = [t for t in self.tickets if t.is_question and t.outcome]
        return sorted(rows, key=lambda t: (t.answered_at is None, t.answered_at or 0, t.id))

    @property
    def open_questions(self) -> list[TicketRow]:
        return [t for t in self.tickets if t.is_question and not t.outcome and t.status != TicketStatus.SKIPPED]

    @property
    def outcome_counts(self) -> dict[str, int]:
        return dict(Counter(t.outcome for t in self.answered_questions))

    @property
    def shipped(self) -> list[TicketRow]:
        return [t for t in self.tickets if t.kind == TicketKind.CODE and t.status == TicketStatus.DONE]

    @property
    def skipped(self) -> list[TicketRow]:
        return [t for t in self.tickets if t.status == TicketStatus.SKIPPED]

    @property
    def goal_verdict(self) -> tuple[str, str, bool]:
        """(value, label, decided by the lead) — from the review, else suggested by the tickets."""
        if self.review is not None and self.review.goal_verdict:
            return self.review.goal_verdict, GoalVerdict(self.review.goal_verdict).label, True
        if self.sprint.state != SprintState.CLOSED:
            return "", "", False  # too early to say
        value = suggest_goal_verdict(self.summary)
        return (value, GoalVerdict(value).label, False) if value else ("", "", False)


def suggest_goal_verdict(summary: dict[str, list]) -> str:
    """A verdict read off the tickets, until the lead gives theirs: every committed ticket that
    was not dropped is done → met; at least half → partly; else not met. Empty without a plan."""
    committed = set(summary.get("committed", []))
    dropped = set(summary.get("skipped", [])) | set(summary.get("removed", []))
    meant = committed - dropped
    if not meant:
        return ""
    done = len(meant & set(summary.get("completed", [])))
    if done == len(meant):
        return GoalVerdict.MET
    return GoalVerdict.PARTLY if done * 2 >= len(meant) else GoalVerdict.NOT_MET


def _snapshot_summary(snapshot: dict[str, Any]) -> dict[str, list[str]]:
    return {key: list(snapshot.get(key) or []) for key, _, _ in SUMMARY_BUCKETS}


def sprint_dashboard(*, project: Project, sprint: Sprint, now: datetime.datetime | None = None) -> SprintDashboard:
    """Everything the sprint dashboard shows, in three queries: the review, the history of the
    sprint's tickets, and those tickets."""
    now = now or clock.now()
    review = SprintReview.objects.filter(sprint=sprint).first()
    progress = sprint_progress(sprint=sprint, now=now)
    names: dict[int, str] = {}
    if progress is None:
        tickets = list(Ticket.objects.filter(sprint=sprint).values(*ROW_COLUMNS).order_by("rank", "id"))
        rows = _rows(project, tickets)
        keys = [r.key for r in rows]
        summary = {"committed": keys}
    else:
        ids = set(progress.final) | set(progress.committed) | set(progress.added) | set(progress.removed)
        tickets = list(Ticket.objects.filter(pk__in=ids).values(*ROW_COLUMNS).order_by("number"))
        names = {t["id"]: f"{project.key}-{t['number']}" for t in tickets}
        in_sprint = [t for t in tickets if t["id"] in progress.final]
        rows = _rows(project, in_sprint, progress.final)
        summary = {key: [names[i] for i in ids_ if i in names] for key, ids_ in progress.summary().items()}
    from_snapshot = sprint.state == SprintState.CLOSED and bool(sprint.snapshot)
    if from_snapshot:
        summary = _snapshot_summary(sprint.snapshot)
    dashboard = SprintDashboard(
        project=project,
        sprint=sprint,
        progress=progress,
        tickets=rows,
        summary=summary,
        from_snapshot=from_snapshot,
        review=review,
    )
    dashboard.names = {**names, **{r.id: r.key for r in rows}}
    return dashboard


# --- Sprints of a project, with what each delivered -------------------------------------
@dataclass
class SprintDelivery:
    sprint: Sprint
    answered: int = 0
    shipped: int = 0
    skipped: int = 0
    tickets: int = 0
    review: SprintReview | None = None

    @property
    def goal_verdict(self) -> tuple[str, str, bool]:
        if self.review is not None and self.review.goal_verdict:
            return self.review.goal_verdict, GoalVerdict(self.review.goal_verdict).label, True
        if self.sprint.state != SprintState.CLOSED or not self.sprint.snapshot:
            return "", "", False
        value = suggest_goal_verdict(_snapshot_summary(self.sprint.snapshot))
        return (value, GoalVerdict(value).label, False) if value else ("", "", False)


def sprint_deliveries(*, project: Project) -> list[SprintDelivery]:
    """Every sprint of the project, oldest first, with its answered questions, shipped code
    tickets and skips: two queries (sprints with reviews; one grouped count of tickets).

    Done and skipped tickets stay in their sprint when it closes (only unfinished ones are
    carried over), so counting by the tickets' sprint counts what each sprint delivered.
    """
    sprints = list(Sprint.objects.filter(project=project).select_related("review").order_by("start_date", "id"))
    counts = (
        Ticket.objects.filter(project=project, sprint__isnull=False)
        .values("sprint_id")
        .annotate(
            tickets=Count("id"),
            answered=Count("id", filter=Q(kind=TicketKind.QUESTION, status=TicketStatus.DONE) & ~Q(outcome="")),
            shipped=Count("id", filter=Q(kind=TicketKind.CODE, status=TicketStatus.DONE)),
            skipped=Count("id", filter=Q(status=TicketStatus.SKIPPED)),
        )
        .order_by()
    )
    by_sprint = {row["sprint_id"]: row for row in counts}
    deliveries = []
    for sprint in sprints:
        sprint.project = project
        row = by_sprint.get(sprint.pk, {})
        deliveries.append(
            SprintDelivery(
                sprint=sprint,
                answered=row.get("answered", 0),
                shipped=row.get("shipped", 0),
                skipped=row.get("skipped", 0),
                tickets=row.get("tickets", 0),
                review=getattr(sprint, "review", None) if _has_review(sprint) else None,
            )
        )
    return deliveries


def _has_review(sprint: Sprint) -> bool:
    try:
        sprint.review  # noqa: B018 - select_related filled it, or raises when there is none
    except SprintReview.DoesNotExist:
        return False
    return True


# --- Answers and demo material ----------------------------------------------------------
@dataclass
class AnsweredQuestion:
    id: int
    key: str
    title: str
    question: str
    hypothesis: str
    answer: str
    outcome: str
    answered_at: datetime.datetime | None
    sprint_id: int | None
    material: list[DemoMaterial] = field(default_factory=list)

    @property
    def outcome_label(self) -> str:
        return Outcome(self.outcome).label if self.outcome in Outcome.values else ""


QUESTION_COLUMNS = ("id", "number", "title", "question", "hypothesis", "answer", "outcome", "answered_at", "sprint_id")


def answered_questions(
    *, project: Project, sprint: Sprint | None = None, limit: int | None = None
) -> list[AnsweredQuestion]:
    """Answered questions (of ``sprint``, or the project's latest ``limit``), newest answer
    last, each with its demo material (image bytes not loaded): two queries."""
    rows = Ticket.objects.filter(project=project, kind=TicketKind.QUESTION).exclude(outcome="")
    if sprint is not None:
        rows = rows.filter(sprint=sprint)
    rows = rows.order_by("-answered_at", "-id").values(*QUESTION_COLUMNS)
    found = list(rows[:limit] if limit else rows)
    found.reverse()
    questions = [AnsweredQuestion(key=f"{project.key}-{r.pop('number')}", **r) for r in found]
    by_id = {q.id: q for q in questions}
    if by_id:
        for material in DemoMaterial.objects.filter(ticket_id__in=by_id).defer("content").order_by("order", "id"):
            by_id[material.ticket_id].material.append(material)
    return questions


def answered_question_ids(*, project: Project, sprint: Sprint | None = None, limit: int | None = None) -> list[int]:
    """The ids :func:`answered_questions` returns, without loading them: one query."""
    rows = Ticket.objects.filter(project=project, kind=TicketKind.QUESTION).exclude(outcome="")
    if sprint is not None:
        rows = rows.filter(sprint=sprint)
    rows = rows.order_by("-answered_at", "-id").values_list("id", flat=True)
    return list(rows[:limit] if limit else rows)


def material_of_ticket(*, ticket: Ticket) -> list[DemoMaterial]:
    return list(DemoMaterial.objects.filter(ticket=ticket).defer("content").select_related("created_by"))


def shipped_tickets(*, project: Project, sprint: Sprint | None = None, limit: int | None = None) -> list[TicketRow]:
    """Done code tickets, latest sprint first (of ``sprint`` only, if given): one query."""
    rows = Ticket.objects.filter(project=project, kind=TicketKind.CODE, status=TicketStatus.DONE)
    rows = rows.filter(sprint=sprint) if sprint is not None else rows.filter(sprint__isnull=False)
    rows = rows.order_by("-sprint__start_date", "rank", "id").values(*ROW_COLUMNS)
    return _rows(project, list(rows[:limit] if limit else rows))


@dataclass
class Upcoming:
    sprint: Sprint | None  # None: the top of the backlog
    tickets: list[TicketRow]


def upcoming(*, project: Project, after: Sprint | None = None, sprints: int = 2, limit: int = 8) -> list[Upcoming]:
    """What comes next: the sprints not yet closed (the running one first, then planned ones;
    only those after ``after`` if given: every planned one after an open sprint) with their top
    open tickets, or the top of the backlog when nothing is planned: two queries."""
    rows = Sprint.objects.filter(project=project).exclude(state=SprintState.CLOSED)
    if after is not None:
        rows = rows.exclude(pk=after.pk)
        # A running sprint is followed by every planned one, whatever their dates say.
        if not after.is_open:
            rows = rows.filter(start_date__gte=after.start_date)
    found = list(rows.order_by("start_date", "id")[:sprints])
    open_tickets = Ticket.objects.filter(project=project).exclude(status__in=[TicketStatus.DONE, TicketStatus.SKIPPED])
    if not found:
        backlog = open_tickets.filter(sprint__isnull=True).order_by("rank", "id").values(*ROW_COLUMNS)[:limit]
        return [Upcoming(sprint=None, tickets=_rows(project, list(backlog)))]
    # The top ``limit`` open tickets of each sprint, in one query (the sprints are few).
    tickets = list(open_tickets.filter(sprint__in=found).order_by("sprint_id", "rank", "id").values(*ROW_COLUMNS))
    by_sprint: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for t in tickets:
        if len(by_sprint[t["sprint_id"]]) < limit:
            by_sprint[t["sprint_id"]].append(t)
    for sprint in found:
        sprint.project = project
    return [Upcoming(sprint=s, tickets=_rows(project, by_sprint[s.pk])) for s in found]


# --- Menus, share links and demo material -----------------------------------------------
def sprint_menu(*, project: Project) -> list[dict[str, Any]]:
    """``[{"id", "name"}]`` of every sprint, newest first, for the sprint dashboard's menu: one query."""
    return list(Sprint.objects.filter(project=project).order_by("-start_date", "-id").values("id", "name"))


def sprints_newest_first(*, project: Project) -> list[Sprint]:
    return list(Sprint.objects.filter(project=project).order_by("-start_date", "-id"))


def sprint_of_project(*, project: Project, sprint_id: int) -> Sprint | None:
    return Sprint.objects.filter(project=project, pk=sprint_id).first()


def latest_started_sprint(*, project: Project) -> Sprint | None:
    """The sprint that started last (the active one, when there is one)."""
    return (
        Sprint.objects.filter(project=project, started_at__isnull=False)
        .order_by("-started_at", "-id")
        .only("id")
        .first()
    )


def share_links_of_project(*, project: Project, now: datetime.datetime) -> list[ShareLink]:
    """The project's share links, newest first, each with its ``state`` at ``now``: one query."""
    links = list(ShareLink.objects.filter(project=project).select_related("sprint", "created_by", "revoked_by"))
    for link in links:
        link.project = project
        link.state = link.state_at(now)
    return links


def share_link_uses(*, link: ShareLink, limit: int | None = None) -> list[ShareLinkUse]:
    rows = ShareLinkUse.objects.filter(link=link).order_by("-at", "-id")
    return list(rows[:limit] if limit else rows)


def shared_material(*, link: ShareLink, material_id: int, limit: int | None) -> DemoMaterial | None:
    """Demo material ``material_id`` if the link's demo page shows it (its question is on the page); or None."""
    shown = answered_question_ids(project=link.project, sprint=link.sprint, limit=limit)
    material = DemoMaterial.objects.select_related("ticket").filter(pk=material_id, ticket_id__in=shown).first()
    if material is not None:
        material.ticket.project = link.project
    return material


def material_counts(*, ticket: Ticket) -> dict[str, int]:
    """How many pictures and notes a ticket's demo holds: one query."""
    counts = {"image": 0, "note": 0}
    for kind in DemoMaterial.objects.filter(ticket=ticket).values_list("kind", flat=True):
        counts[kind] = counts.get(kind, 0) + 1
    return counts
