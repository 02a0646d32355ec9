"""Reads for planning. Each selector owns its joins so callers never trigger N+1 queries."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import Case, Count, F, Max, Prefetch, Q, QuerySet, Sum, Value, When, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from tickets.access import id_or_none
from tickets.models import (
    OPEN_STATUSES,
    Comment,
    Epic,
    Membership,
    Project,
    Reassessment,
    ReassessmentDecision,
    Sprint,
    SprintState,
    Ticket,
    TicketEvent,
    TicketFacts,
    TicketKind,
    TicketStatus,
)
from tickets.services.shared import number_from_key

User = get_user_model()


def mention_links(*, project: Project) -> dict[str, str]:
    """``{username: page}`` for every member of ``project``, the targets ``@username`` links to in
    its Markdown: one query, remembered on the project object for the rest of the request."""
    cached = getattr(project, "_mention_links", None)
    if cached is None:
        backlog = reverse("backlog", args=[project.key])
        names = Membership.objects.filter(project=project).values_list("user__username", flat=True)
        cached = {name: f"{backlog}?{urlencode({'assignee': name})}" for name in names}
        project._mention_links = cached
    return cached


def memberships_for_user(*, user: AbstractBaseUser) -> QuerySet[Membership]:
    """The user's memberships with their projects and member counts: one query."""
    return (
        Membership.objects.filter(user=user)
        .select_related("project")
        .annotate(member_count=Count("project__memberships"))
        .order_by("project__key")
    )


def comment_ids_by(*, ticket: Ticket, author: AbstractBaseUser) -> list[int]:
    """The ids of the comments ``author`` wrote on ``ticket``, in order."""
    return list(Comment.objects.filter(ticket=ticket, author=author).order_by("pk").values_list("pk", flat=True))


def switcher_memberships(*, user: AbstractBaseUser) -> QuerySet[Membership]:
    """The user's memberships with their projects, for the top bar's project switcher: one query."""
    return Membership.objects.filter(user=user).select_related("project").order_by("project__key")


def memberships_of_project(*, project: Project) -> QuerySet[Membership]:
    return Membership.objects.filter(project=project).select_related("user").order_by("user__username")


def membership_get(*, project: Project, username: str) -> Membership:
    return Membership.objects.select_related("user", "project").get(project=project, user__username=username)


# --- Planning ---------------------------------------------------------------------------
BACKLOG = "backlog"
UNASSIGNED = "none"
NO_EPIC = "none"
# The columns a plan row needs; the Markdown description stays in the database.
PLAN_COLUMNS = (
    "id",
    "project_id",
    "number",
    "kind",
    "work_type",
    "title",
    "status",
    "assignee_id",
    "epic_id",
    "sprint_id",
    "rank",
    "estimate",
    "outcome",
)


@dataclass(frozen=True)
class TicketFilters:
    """What the backlog page and the ticket list API filter on; empty means "any"."""

    sprint: int | str | None = None  # a sprint id, or BACKLOG
    status: tuple[str, ...] = ()
    kind: str = ""
    work_type: str = ""
    epic: int | str | None = None  # an epic id, or NO_EPIC
    assignee: str = ""  # a username, or UNASSIGNED
    q: str = ""

    @property
    def active(self) -> bool:
        return bool(self.status or self.kind or self.work_type or self.epic or self.assignee or self.q.strip())


def _filtered(rows: QuerySet[Ticket], project: Project, filters: TicketFilters) -> QuerySet[Ticket]:
    if filters.sprint == BACKLOG:
        rows = rows.filter(sprint__isnull=True)
    elif filters.sprint is not None:
        rows = rows.filter(sprint_id=filters.sprint)
    if filters.status:
        rows = rows.filter(status__in=filters.status)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.work_type:
        rows = rows.filter(work_type=filters.work_type)
    if filters.epic == NO_EPIC:
        rows = rows.filter(epic__isnull=True)
    elif filters.epic:
        rows = rows.filter(epic_id=filters.epic)
    if filters.assignee == UNASSIGNED:
        rows = rows.filter(assignee__isnull=True)
    elif filters.assignee:
        rows = rows.filter(assignee__username=filters.assignee)
    text = filters.q.strip()
    if text:
        match = Q(title__icontains=text) | Q(description__icontains=text) | Q(question__icontains=text)
        number = text.upper().removeprefix(f"{project.key}-")
        if id_or_none(number) is not None:
            match |= Q(number=id_or_none(number))
        rows = rows.filter(match)
    return rows


def tickets_for_project(*, project: Project, filters: TicketFilters = TicketFilters()) -> QuerySet[Ticket]:
    """The project's tickets in rank order, with what a list shows joined in."""
    rows = Ticket.objects.filter(project=project).select_related("assignee", "epic", "sprint", "created_by")
    return _filtered(rows, project, filters).order_by("rank", "id")


def member_user(*, project: Project, username: str) -> AbstractBaseUser | None:
    """The member of ``project`` called ``username``, or None."""
    membership = Membership.objects.select_related("user").filter(project=project, user__username=username).first()
    return membership.user if membership else None


# The rows a backlog list or a board column shows at first, and per "load more": a page must
# not grow with the project (a lead's 2,000-ticket backlog was 1.27 MB of HTML unpaged).
PLAN_PAGE_SIZE = 50
# A sprint panel beside the backlog shows fewer rows at first: every open sprint adds a panel, and
# the page must stay small (≤ 150 KB) with the backlog and several full sprints. "Load more" of a
# panel then brings PLAN_PAGE_SIZE rows at a time.
SPRINT_PANEL_PAGE_SIZE = 20


@dataclass
class SprintPlan:
    """A sprint beside the backlog: its first page of tickets, and its totals over all of them."""

    sprint: Sprint
    tickets: list[PlanRow]
    total: int = 0
    estimate: int = 0

    @property
    def has_more(self) -> bool:
        return self.total > len(self.tickets)

    @property
    def list_id(self) -> str:
        """The id of the sprint's list on the backlog page."""
        return f"sprint-list-{self.sprint.pk}"


@dataclass
class Plan:
    """The backlog page: open sprints (active first) beside the ranked backlog, each list cut to
    its first page (``PLAN_PAGE_SIZE`` for the backlog, ``SPRINT_PANEL_PAGE_SIZE`` for a sprint)
    with its total count."""

    sprints: list[SprintPlan]
    backlog: list[PlanRow]
    epics: list[Epic]
    members: list[Membership]
    total: int = 0
    backlog_total: int = 0

    @property
    def backlog_more(self) -> bool:
        return self.backlog_total > len(self.backlog)

    @property
    def planned_sprints(self) -> list[Sprint]:
        return [p.sprint for p in self.sprints if p.sprint.state == SprintState.PLANNED]

    @property
    def active_sprint(self) -> Sprint | None:
        return next((p.sprint for p in self.sprints if p.sprint.state == SprintState.ACTIVE), None)


@dataclass(slots=True)
class PlanRow(TicketFacts):
    """A ticket as the backlog lists it: plain values, because building a model instance per row
    costs five times as much as the query, and a plan has thousands of rows."""

    id: int
    number: int
    kind: str
    work_type: str
    title: str
    status: str
    assignee_id: int | None
    epic_id: int | None
    sprint_id: int | None
    rank: int
    estimate: int | None
    outcome: str
    project: Project | None = None
    epic: Epic | None = None
    assignee: Any = None


# The columns a PlanRow is built from, in its fields' order.
PLAN_ROW_COLUMNS = tuple(name for name in PLAN_COLUMNS if name != "project_id")


def _first_pages(rows: QuerySet[Ticket], partition: str, per_page: int | Case) -> QuerySet[Ticket]:
    """The first ``per_page`` rows (rank order) of each ``partition`` list, each row carrying its
    list's ``list_total`` and ``list_estimate``: one query, window functions over the filtered rows.
    ``per_page`` may be an expression over the row (a list's own page size)."""
    over = {"partition_by": [F(partition)]}
    return (
        rows.annotate(
            page_size=per_page if isinstance(per_page, Case) else Value(per_page),
            position=Window(RowNumber(), order_by=[F("rank").asc(), F("id").asc()], **over),
            list_total=Window(Count("id"), **over),
            list_estimate=Window(Sum("estimate"), **over),
        )
        .filter(position__lte=F("page_size"))
        .order_by("rank", "id")
    )


def plan_for_project(
    *,
    project: Project,
    filters: TicketFilters = TicketFilters(),
    per_page: int = PLAN_PAGE_SIZE,
    sprint_per_page: int = SPRINT_PANEL_PAGE_SIZE,
) -> Plan:
    """Everything the backlog page shows, in four queries whatever the number of tickets:
    open sprints, epics, members with their users, and the first page of each list's tickets
    (with each list's total count and estimate)."""
    sprints = list(
        Sprint.objects.filter(project=project, state__in=[SprintState.ACTIVE, SprintState.PLANNED]).order_by(
            Case(When(state=SprintState.ACTIVE, then=0), default=1), "start_date", "id"
        )
    )
    epics = list(Epic.objects.filter(project=project).order_by("order", "id"))
    members = list(memberships_of_project(project=project))
    rows = Ticket.objects.filter(project=project).filter(
        Q(sprint__isnull=True) | Q(sprint_id__in=[s.pk for s in sprints])
    )
    epic_by_id = {e.pk: e for e in epics}
    user_by_id = {m.user_id: m.user for m in members}
    by_sprint: dict[int | None, list[PlanRow]] = {s.pk: [] for s in sprints}
    by_sprint[None] = []
    totals: dict[int | None, tuple[int, int]] = {}
    width = len(PLAN_ROW_COLUMNS)
    sizes = Case(When(sprint__isnull=True, then=Value(per_page)), default=Value(sprint_per_page))
    page = _first_pages(_filtered(rows, project, filters), "sprint_id", sizes)
    for values in page.values_list(*PLAN_ROW_COLUMNS, "list_total", "list_estimate"):
        row = PlanRow(*values[:width], project=project)
        row.epic = epic_by_id.get(row.epic_id)
        row.assignee = user_by_id.get(row.assignee_id)
        by_sprint[row.sprint_id].append(row)
        totals[row.sprint_id] = (values[width], values[width + 1] or 0)
    return Plan(
        sprints=[
            SprintPlan(
                sprint=s,
                tickets=by_sprint[s.pk],
                total=totals.get(s.pk, (0, 0))[0],
                estimate=totals.get(s.pk, (0, 0))[1],
            )
            for s in sprints
        ],
        backlog=by_sprint[None],
        epics=epics,
        members=members,
        total=sum(total for total, _ in totals.values()),
        backlog_total=totals.get(None, (0, 0))[0],
    )


def ticket_after(*, project: Project, key: str) -> Ticket:
    """The ticket a "load more" continues after (its rank and id), by key; ``ValidationError`` naming
    ``after`` when ``key`` is not a ticket of ``project``."""
    number = number_from_key(project, key, "after")
    ticket = Ticket.objects.filter(project=project, number=number).only("id", "rank").first()
    if ticket is None:
        raise ValidationError({"after": f"There is no ticket {key} in {project.key}; reload the page."})
    return ticket


def _rows_after(rows: QuerySet[Ticket], after: Ticket | None, per_page: int) -> tuple[list[Ticket], bool]:
    """The next ``per_page`` of ``rows`` (rank order) after ticket ``after`` (None: from the top),
    keyset-paged on (rank, id) so moves made meanwhile never skip or repeat a row; and whether more follow."""
    if after is not None:
        rows = rows.filter(Q(rank__gt=after.rank) | Q(rank=after.rank, id__gt=after.pk))
    found = list(rows.order_by("rank", "id")[: per_page + 1])
    return found[:per_page], len(found) > per_page


def plan_rows(
    *,
    project: Project,
    sprint: Sprint | None,
    after: Ticket | None,
    filters: TicketFilters = TicketFilters(),
    per_page: int = PLAN_PAGE_SIZE,
) -> tuple[list[Ticket], bool]:
    """The next page of the backlog's (or ``sprint``'s) list after ticket ``after``: one query."""
    rows = _filtered(Ticket.objects.filter(project=project, sprint=sprint), project, filters).select_related(
        "assignee", "epic"
    )
    page, more = _rows_after(rows, after, per_page)
    for ticket in page:
        ticket.project = project
    return page, more


@dataclass
class BoardColumn:
    """A board column: its first page of cards and how many cards it has in all."""

    status: TicketStatus
    tickets: list[Ticket]
    total: int = 0

    @property
    def has_more(self) -> bool:
        return self.total > len(self.tickets)

    @property
    def last_key(self) -> str:
        return self.tickets[-1].key if self.tickets else ""


# What a board card shows, joined in.
BOARD_COLUMNS = (*PLAN_COLUMNS, "assignee__username", "assignee__first_name", "assignee__last_name", "epic__title")


def _board_rows(sprint: Sprint, filters: TicketFilters) -> QuerySet[Ticket]:
    return (
        _filtered(Ticket.objects.filter(sprint=sprint), sprint.project, filters)
        .select_related("assignee", "epic")
        .only(*BOARD_COLUMNS)
    )


def board_for_sprint(
    *, sprint: Sprint, filters: TicketFilters = TicketFilters(), per_page: int = PLAN_PAGE_SIZE
) -> dict[str, BoardColumn]:
    """The sprint's tickets (those matching ``filters``) by status column, in rank order, each
    column cut to its first page with its total: one query."""
    columns = {status: BoardColumn(status=TicketStatus(status), tickets=[]) for status in TicketStatus.values}
    for ticket in _first_pages(_board_rows(sprint, filters), "status", per_page):
        ticket.project = sprint.project
        column = columns[ticket.status]
        column.tickets.append(ticket)
        column.total = ticket.list_total
    return columns


def board_cards(
    *,
    sprint: Sprint,
    status: str,
    after: Ticket | None,
    filters: TicketFilters = TicketFilters(),
    per_page: int = PLAN_PAGE_SIZE,
) -> tuple[list[Ticket], bool]:
    """The next page of a board column (``status``) after ticket ``after``: one query."""
    page, more = _rows_after(_board_rows(sprint, filters).filter(status=status), after, per_page)
    for ticket in page:
        ticket.project = sprint.project
    return page, more


def board_filter_options(*, project: Project) -> tuple[list[Epic], list[Membership]]:
    """The epics and members the board's filters offer: two queries."""
    epics = list(Epic.objects.filter(project=project).only("id", "title").order_by("title", "id"))
    members = list(memberships_of_project(project=project))
    return epics, members


def sprint_for_board(*, project: Project, sprint_id: int | None) -> Sprint | None:
    """The sprint the board shows: the one asked for, else the active one, else the next planned one."""
    sprints = Sprint.objects.filter(project=project)
    if sprint_id is not None:
        return sprints.filter(pk=sprint_id).first()
    return _active_else_next(sprints)


def _progress_counts() -> dict[str, Count]:
    """Annotations of a sprint's or an epic's tickets: all, done, skipped."""
    return {
        "ticket_count": Count("tickets"),
        "done_count": Count("tickets", filter=Q(tickets__status=TicketStatus.DONE)),
        "skipped_count": Count("tickets", filter=Q(tickets__status=TicketStatus.SKIPPED)),
    }


def sprints_of_project(*, project: Project) -> QuerySet[Sprint]:
    """Every sprint with ticket counts (total, done, skipped, open), newest first: one query."""
    return (
        Sprint.objects.filter(project=project)
        .annotate(**_progress_counts(), estimate_total=Sum("tickets__estimate"))
        .order_by(
            Case(When(state=SprintState.ACTIVE, then=0), When(state=SprintState.PLANNED, then=1), default=2),
            "-start_date",
            "-id",
        )
    )


def _active_else_next(sprints: QuerySet[Sprint]) -> Sprint | None:
    """The active sprint among ``sprints``, else the planned one that starts first."""
    return (
        sprints.exclude(state=SprintState.CLOSED)
        .order_by(Case(When(state=SprintState.ACTIVE, then=0), default=1), "start_date", "id")
        .first()
    )


def current_sprint(*, project: Project) -> Sprint | None:
    """The active sprint, else the next planned one, with the counts of ``sprints_of_project``: one query."""
    return _active_else_next(sprints_of_project(project=project))


def recently_changed_tickets(*, project: Project, limit: int = 8) -> list[Ticket]:
    """The tickets changed last, newest first, with what a list shows joined in: one query."""
    rows = Ticket.objects.filter(project=project).select_related("project", "assignee", "sprint")
    return list(rows.order_by("-updated_at", "-id")[:limit])


def epics_of_project(*, project: Project) -> QuerySet[Epic]:
    """Every epic with its progress counts: one query."""
    return (
        Epic.objects.filter(project=project)
        .annotate(
            **_progress_counts(),
            question_count=Count("tickets", filter=Q(tickets__kind=TicketKind.QUESTION)),
            answered_count=Count("tickets", filter=Q(tickets__kind=TicketKind.QUESTION) & ~Q(tickets__outcome="")),
        )
        .order_by("order", "id")
    )


def epic_with_progress(*, epic: Epic) -> Epic:
    """``epic`` with the same counts :func:`epics_of_project` annotates."""
    project = epic.project
    found = epics_of_project(project=project).get(pk=epic.pk)
    found.project = project
    return found


def ticket_rows_of_epic(*, epic: Epic) -> QuerySet[Ticket]:
    """The epic's tickets as its page lists them (sprint ones first, by sprint start, then rank),
    with assignee and sprint joined in: page it, then :func:`in_context`."""
    return (
        Ticket.objects.filter(epic=epic)
        .select_related("assignee", "sprint")
        .only(
            *PLAN_COLUMNS,
            "assignee__username",
            "assignee__first_name",
            "assignee__last_name",
            "sprint__name",
            "sprint__state",
        )
        .order_by(Case(When(sprint__isnull=True, then=1), default=0), "sprint__start_date", "rank", "id")
    )


def sprint_with_progress(*, sprint: Sprint) -> Sprint:
    """``sprint`` with the counts :func:`sprints_of_project` annotates (``ticket_count``,
    ``done_count``, ``skipped_count``): one query, whatever the number of tickets."""
    project = sprint.project
    found = sprints_of_project(project=project).get(pk=sprint.pk)
    found.project = project
    return found


def ticket_rows_of_sprint(*, sprint: Sprint) -> QuerySet[Ticket]:
    """The sprint's tickets in rank order with assignee and epic joined in: page it, then :func:`in_context`."""
    return (
        Ticket.objects.filter(sprint=sprint)
        .select_related("assignee", "epic")
        .only(*PLAN_COLUMNS, "assignee__username", "assignee__first_name", "assignee__last_name", "epic__title")
        .order_by("rank", "id")
    )


def in_context(rows, *, project: Project, **known) -> list[Ticket]:
    """``rows`` (a page of tickets) as a list, each given ``project`` and the ``known`` relations
    (``sprint=``, ``epic=``) the page already holds, so that keys and names cost no query."""
    found = list(rows)
    for ticket in found:
        ticket.project = project
        for name, value in known.items():
            setattr(ticket, name, value)
    return found


def reassessment_candidates(*, question: Ticket) -> list[Ticket]:
    """Open tickets sharing the question's sprint or epic (not the question), sprint ones first."""
    scope = Q()
    if question.sprint_id:
        scope |= Q(sprint_id=question.sprint_id)
    if question.epic_id:
        scope |= Q(epic_id=question.epic_id)
    if not scope:
        return []
    rows = list(
        Ticket.objects.filter(project=question.project)
        .filter(scope, status__in=OPEN_STATUSES)
        .exclude(pk=question.pk)
        .exclude(sprint__state=SprintState.CLOSED)
        .select_related("assignee", "epic", "sprint")
        .order_by(
            Case(When(sprint_id=question.sprint_id, then=0), default=1) if question.sprint_id else "rank", "rank", "id"
        )
    )
    for ticket in rows:
        ticket.project = question.project
    return rows


def reassessments_of_question(*, question: Ticket) -> list[Reassessment]:
    rows = list(
        Reassessment.objects.filter(question=question)
        .select_related("actor")
        .prefetch_related(Prefetch("decisions", queryset=ReassessmentDecision.objects.select_related("ticket")))
        .order_by("created_at", "id")
    )
    for reassessment in rows:
        reassessment.question = question
        for decision in reassessment.decisions.all():
            decision.ticket.project = question.project
    return rows


def comments_of_ticket(*, ticket: Ticket) -> QuerySet[Comment]:
    return Comment.objects.filter(ticket=ticket).select_related("author").order_by("created_at", "id")


def events_of_ticket(*, ticket: Ticket) -> QuerySet[TicketEvent]:
    return TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("created_at", "id")


def epic_in_project(*, project: Project, epic_id: int) -> Epic | None:
    return Epic.objects.filter(project=project, pk=epic_id).first()


def sprint_in_project(*, project: Project, sprint_id: int) -> Sprint | None:
    return Sprint.objects.filter(project=project, pk=sprint_id).first()


def new_sprint_defaults(*, project: Project) -> dict:
    """Name and dates for the next sprint: numbered after the last, starting after it (or today), two weeks long."""
    last = Sprint.objects.filter(project=project).aggregate(end=Max("end_date"), count=Count("id"))
    start = max(last["end"] + datetime.timedelta(days=1), timezone.localdate()) if last["end"] else timezone.localdate()
    return {
        "name": f"Sprint {last['count'] + 1}",
        "start_date": start,
        "end_date": start + datetime.timedelta(days=13),
    }


def sprints_newest_first(*, project: Project) -> QuerySet[Sprint]:
    return Sprint.objects.filter(project=project).order_by("-start_date", "-id")


def planned_sprints(*, project: Project, exclude: Sprint | None = None) -> list[Sprint]:
    """The project's planned sprints (where unfinished work may go), but ``exclude``."""
    rows = Sprint.objects.filter(project=project, state=SprintState.PLANNED)
    if exclude is not None:
        rows = rows.exclude(pk=exclude.pk)
    return list(rows)


def active_sprint(*, project: Project) -> Sprint | None:
    return Sprint.objects.filter(project=project, state=SprintState.ACTIVE).first()


def sprint_by_id(*, sprint_id: int) -> QuerySet[Sprint]:
    """A one-sprint queryset, for a form field that may only show the sprint a ticket is in."""
    return Sprint.objects.filter(pk=sprint_id)


def project_counts(*, project: Project) -> dict[str, int]:
    """How many epics, sprints and tickets the project has now: three counts."""
    return {
        "epics": Epic.objects.filter(project=project).count(),
        "sprints": Sprint.objects.filter(project=project).count(),
        "tickets": Ticket.objects.filter(project=project).count(),
    }
