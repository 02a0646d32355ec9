"""Planning pages: the ranked backlog, the board, sprints (plan, start, close with carry-over) and
epics. Stakeholders read; engineers add tickets; leads plan. Drag-and-drop calls the REST API."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tickets import selectors, services
from tickets.access import (
    epic_for_user,
    id_or_none,
    project_for_user,
    sprint_for_user,
)
from tickets.forms import (
    EpicForm,
    PlanFilterForm,
    QuickTicketForm,
    SprintCloseForm,
    SprintForm,
    apply_errors,
)
from tickets.fragments import shared_page
from tickets.models import (
    Role,
    Sprint,
    SprintState,
    Ticket,
    TicketKind,
    TicketStatus,
    WorkType,
)
from tickets.paging import LIST_PAGE_SIZE, TICKET_PAGE_SIZE, page_of
from tickets.views import allows, error_text, is_htmx, next_or


def _filter_query(form: PlanFilterForm) -> str:
    """The filters in force as a query string, for the "load more" links (which must page the same rows)."""
    if not form.is_bound or not form.is_valid():
        return ""
    return urlencode({name: value for name, value in form.cleaned_data.items() if value})


def _refused(error: ValidationError) -> HttpResponse:
    """A bad "load more" query: 400 with a message naming the parameter at fault."""
    text = " ".join(f"{field}: {m}" for field, ms in error.message_dict.items() for m in ms)
    return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")


def _after(request: HttpRequest, project) -> Ticket | None:
    """The ticket a "load more" continues after (``after``, a ticket key); None for the top."""
    key = request.GET.get("after", "").strip()
    return selectors.ticket_after(project=project, key=key) if key else None


@login_required
@require_GET
def backlog(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key)
    partial = is_htmx(request) and request.headers.get("HX-Target") == "plan"
    template = "tickets/partials/plan.html" if partial else "tickets/backlog.html"
    return shared_page(request, project, template, lambda: _backlog(request, project))


def _backlog(request: HttpRequest, project) -> dict:
    form = PlanFilterForm(request.GET or None)
    plan = selectors.plan_for_project(project=project, filters=form.filters())
    context = {
        "project": project,
        "plan": plan,
        "filter_form": form,
        "filter_query": _filter_query(form),
        "filtered": form.is_bound and form.is_valid() and form.filters().active,
        "can_plan": allows(project, Role.LEAD),
        "can_edit": allows(project, Role.ENGINEER),
        "quick_form": QuickTicketForm(),
        "work_types": WorkType.choices,
        "kinds": TicketKind.choices,
    }
    if context["can_plan"]:
        context["sprint_form"] = SprintForm(initial=selectors.new_sprint_defaults(project=project))
    return context


def _rows_page(request: HttpRequest, project, sprint: Sprint | None) -> HttpResponse:
    """The next page of a backlog page's list (the backlog, or ``sprint``) after ticket ``after``,
    with the filters in force: the rows, and the list's "load more" button in their wake."""
    form = PlanFilterForm(request.GET or None)
    try:
        after = _after(request, project)
    except ValidationError as error:
        return _refused(error)
    rows, more = selectors.plan_rows(project=project, sprint=sprint, after=after, filters=form.filters())
    list_id = f"sprint-list-{sprint.pk}" if sprint else "backlog-list"
    context = {
        "project": project,
        "rows": rows,
        "more": more,
        "list_id": list_id,
        "more_url": request.path,
        "filter_query": _filter_query(form),
        "can_plan": allows(project, Role.LEAD),
    }
    return render(request, "tickets/partials/plan_rows.html", context)


@login_required
@require_GET
def backlog_rows(request: HttpRequest, key: str) -> HttpResponse:
    """ "Load more" of the backlog's list on the backlog page."""
    return _rows_page(request, project_for_user(request.user, key), None)


@login_required
@require_GET
def backlog_sprint_rows(request: HttpRequest, key: str, sprint_id: int) -> HttpResponse:
    """ "Load more" of a sprint's list on the backlog page."""
    sprint = sprint_for_user(request.user, key, sprint_id)
    return _rows_page(request, sprint.project, sprint)


@login_required
@require_POST
def ticket_quick_create(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key, need=Role.ENGINEER)
    form = QuickTicketForm(request.POST)
    ticket = None
    if form.is_valid():
        try:
            ticket = services.ticket_create(project=project, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
    if not is_htmx(request):
        if ticket:
            messages.success(request, f"{ticket.key} was added to the bottom of the backlog.")
        else:
            messages.error(
                request, "The ticket was not created: " + " ".join(e for es in form.errors.values() for e in es)
            )
        return redirect("backlog", key=project.key)
    context = {
        "project": project,
        "quick_form": QuickTicketForm(initial={"kind": form.data.get("kind"), "work_type": form.data.get("work_type")})
        if ticket
        else form,
        "created": ticket,
        "can_plan": allows(project, Role.LEAD),
        "can_edit": True,
    }
    return render(request, "tickets/partials/quick_create.html", context, status=200 if ticket else 422)


@login_required
@require_GET
def board(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key)
    return shared_page(request, project, "tickets/board.html", lambda: _board(request, project))


def _board(request: HttpRequest, project) -> dict:
    raw = request.GET.get("sprint", "")
    sprint_id = id_or_none(raw)
    if raw and sprint_id is None:
        messages.error(request, f"Sprint: {raw!r} is not a sprint id; showing the current sprint.")
    sprint = selectors.sprint_for_board(project=project, sprint_id=sprint_id)
    if sprint_id is not None and sprint is None:
        raise Http404(f"There is no sprint {sprint_id} in {project.key}.")
    form = PlanFilterForm(request.GET or None)
    if sprint:
        sprint.project = project
    columns = selectors.board_for_sprint(sprint=sprint, filters=form.filters()) if sprint else {}
    epics, members = selectors.board_filter_options(project=project) if sprint else ([], [])
    context = {
        "project": project,
        "sprint": sprint,
        "columns": list(columns.values()),
        "sprints": selectors.sprints_newest_first(project=project),
        # Only the active sprint's board changes status: a planned sprint's work has not begun.
        "can_edit": allows(project, Role.ENGINEER) and sprint is not None and sprint.state == SprintState.ACTIVE,
        "total": sum(c.total for c in columns.values()),
        "done": columns[TicketStatus.DONE].total if columns else 0,
        "filter_form": form,
        "filter_query": _filter_query(form),
        "filtered": form.is_bound and form.is_valid() and form.filters().active,
        "epics": epics,
        "members": members,
        "kinds": TicketKind.choices,
        "work_types": WorkType.choices,
    }
    return context


@login_required
@require_GET
def board_cards(request: HttpRequest, key: str, sprint_id: int) -> HttpResponse:
    """ "Load more" of one board column (``status``) after ticket ``after``, with the filters in force."""
    sprint = sprint_for_user(request.user, key, sprint_id)
    project = sprint.project
    status = request.GET.get("status", "")
    if status not in TicketStatus.values:
        columns = ", ".join(TicketStatus.values)
        return _refused(ValidationError({"status": f"{status!r} is not a board column; choose one of {columns}."}))
    form = PlanFilterForm(request.GET or None)
    try:
        after = _after(request, project)
    except ValidationError as error:
        return _refused(error)
    cards, more = selectors.board_cards(sprint=sprint, status=status, after=after, filters=form.filters())
    context = {
        "project": project,
        "sprint": sprint,
        "status": status,
        "cards": cards,
        "more": more,
        "last_key": cards[-1].key if cards else "",
        "filter_query": _filter_query(form),
        "can_edit": allows(project, Role.ENGINEER) and sprint.state == SprintState.ACTIVE,
    }
    return render(request, "tickets/partials/board_cards.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def sprint_list(request: HttpRequest, key: str) -> HttpResponse:
    need = Role.LEAD if request.method == "POST" else Role.STAKEHOLDER
    project = project_for_user(request.user, key, need=need)
    form = SprintForm(
        request.POST or None,
        initial=selectors.new_sprint_defaults(project=project) if request.method == "GET" else None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            sprint = services.sprint_create(project=project, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{sprint.name} is planned. Drag tickets into it from the backlog.")
            return redirect(next_or(request, reverse("sprint-detail", kwargs={"key": key, "sprint_id": sprint.pk})))
    page = Paginator(selectors.sprints_of_project(project=project), LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "project": project,
        "page": page,
        "sprints": page.object_list,
        "form": form,
        "can_plan": allows(project, Role.LEAD),
    }
    return render(request, "tickets/sprint_list.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def sprint_detail(request: HttpRequest, key: str, sprint_id: int) -> HttpResponse:
    need = Role.LEAD if request.method == "POST" else Role.STAKEHOLDER
    sprint = sprint_for_user(request.user, key, sprint_id, need=need)
    project = sprint.project
    initial = {"name": sprint.name, "goal": sprint.goal, "start_date": sprint.start_date, "end_date": sprint.end_date}
    form = SprintForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if sprint.state == SprintState.CLOSED:
            data = {"name": data["name"], "goal": data["goal"]}
        try:
            services.sprint_update(sprint=sprint, **data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{sprint.name} saved.")
            return redirect("sprint-detail", key=key, sprint_id=sprint.pk)
    sprint = selectors.sprint_with_progress(sprint=sprint)
    page = page_of(
        request, selectors.ticket_rows_of_sprint(sprint=sprint), per_page=TICKET_PAGE_SIZE, count=sprint.ticket_count
    )
    planned = selectors.planned_sprints(project=project, exclude=sprint)
    context = {
        "project": project,
        "sprint": sprint,
        "page": page,
        "tickets": selectors.in_context(page.object_list, project=project, sprint=sprint),
        "form": form,
        "close_form": SprintCloseForm(planned=planned),
        "planned": planned,
        "can_plan": allows(project, Role.LEAD),
        "done": sprint.done_count,
        "skipped": sprint.skipped_count,
        "open_count": sprint.ticket_count - sprint.done_count - sprint.skipped_count,
        "active_sprint": selectors.active_sprint(project=project),
        "snapshot_rows": _snapshot_rows(sprint.snapshot),
    }
    return render(request, "tickets/sprint_detail.html", context, status=400 if form.errors else 200)


SNAPSHOT_ROWS = [
    ("committed", "Committed at start", "bi-flag"),
    ("added", "Added during", "bi-plus-circle"),
    ("removed", "Removed during", "bi-dash-circle"),
    ("completed", "Completed", "bi-check-circle"),
    ("skipped", "Skipped", "bi-slash-circle"),
    ("carried_over", "Carried over", "bi-arrow-return-right"),
]


# A closed sprint's record names at most this many tickets per row (the count says how many in
# all; the ticket table below pages through the sprint's tickets): a big sprint's page stays small.
SNAPSHOT_KEYS_SHOWN = 40


def _snapshot_rows(snapshot: dict | None) -> list[dict]:
    if not snapshot:
        return []
    rows = []
    for name, label, icon in SNAPSHOT_ROWS:
        keys = snapshot.get(name, [])
        rows.append(
            {
                "name": name,
                "label": label,
                "icon": icon,
                "count": len(keys),
                "keys": keys[:SNAPSHOT_KEYS_SHOWN],
                "more": max(0, len(keys) - SNAPSHOT_KEYS_SHOWN),
            }
        )
    return rows


@login_required
@require_POST
def sprint_start(request: HttpRequest, key: str, sprint_id: int) -> HttpResponse:
    sprint = sprint_for_user(request.user, key, sprint_id, need=Role.LEAD)
    try:
        # The page only sends move_dates once the lead confirmed moving a future sprint's dates.
        move_dates = request.POST.get("move_dates") in ("true", "on", "1")
        services.sprint_start(sprint=sprint, actor=request.user, move_dates=move_dates)
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, f"{sprint.name} started. Good luck!")
    return redirect(next_or(request, reverse("sprint-detail", kwargs={"key": key, "sprint_id": sprint.pk})))


@login_required
@require_POST
def sprint_close(request: HttpRequest, key: str, sprint_id: int) -> HttpResponse:
    sprint = sprint_for_user(request.user, key, sprint_id, need=Role.LEAD)
    planned = selectors.planned_sprints(project=sprint.project)
    form = SprintCloseForm(request.POST, planned=planned)
    fallback = reverse("sprint-detail", kwargs={"key": key, "sprint_id": sprint.pk})
    if not form.is_valid():
        messages.error(request, "Choose where the unfinished tickets go: a planned sprint or the backlog.")
        return redirect(next_or(request, fallback))
    choice = form.cleaned_data["carry_over_to"]
    target = next((s for s in planned if str(s.pk) == choice), None)
    try:
        closed = services.sprint_close(sprint=sprint, actor=request.user, carry_over_to=target)
    except ValidationError as error:
        messages.error(request, error_text(error))
        return redirect(next_or(request, fallback))
    counts = closed.snapshot["counts"]
    messages.success(
        request,
        f"{closed.name} closed: {counts['completed']} completed, {counts['skipped']} skipped, "
        f"{counts['carried_over']} carried over to {target.name if target else 'the backlog'}.",
    )
    return redirect(next_or(request, fallback))


@login_required
@require_POST
def sprint_delete(request: HttpRequest, key: str, sprint_id: int) -> HttpResponse:
    sprint = sprint_for_user(request.user, key, sprint_id, need=Role.LEAD)
    try:
        services.sprint_delete(sprint=sprint, actor=request.user)
    except ValidationError as error:
        messages.error(request, error_text(error))
        return redirect("sprint-detail", key=key, sprint_id=sprint.pk)
    messages.success(request, f"{sprint.name} deleted; its tickets are back in the backlog.")
    return redirect("backlog", key=key)


@login_required
@require_http_methods(["GET", "POST"])
def epic_list(request: HttpRequest, key: str) -> HttpResponse:
    need = Role.LEAD if request.method == "POST" else Role.STAKEHOLDER
    project = project_for_user(request.user, key, need=need)
    form = EpicForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            epic = services.epic_create(project=project, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Epic “{epic.title}” created.")
            return redirect("epic-detail", key=key, epic_id=epic.pk)
    page = Paginator(selectors.epics_of_project(project=project), LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "project": project,
        "page": page,
        "epics": page.object_list,
        "form": form,
        "can_plan": allows(project, Role.LEAD),
    }
    return render(request, "tickets/epic_list.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def epic_detail(request: HttpRequest, key: str, epic_id: int) -> HttpResponse:
    need = Role.LEAD if request.method == "POST" else Role.STAKEHOLDER
    epic = epic_for_user(request.user, key, epic_id, need=need)
    project = epic.project
    initial = {"title": epic.title, "goal": epic.goal, "description": epic.description, "status": epic.status}
    form = EpicForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.epic_update(epic=epic, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Epic saved.")
            return redirect("epic-detail", key=key, epic_id=epic.pk)
    epic = selectors.epic_with_progress(epic=epic)
    page = page_of(
        request, selectors.ticket_rows_of_epic(epic=epic), per_page=TICKET_PAGE_SIZE, count=epic.ticket_count
    )
    context = {
        "project": project,
        "epic": epic,
        "page": page,
        "tickets": selectors.in_context(page.object_list, project=project, epic=epic),
        "form": form,
        "can_plan": allows(project, Role.LEAD),
        "can_edit": allows(project, Role.ENGINEER),
    }
    return render(request, "tickets/epic_detail.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def epic_delete(request: HttpRequest, key: str, epic_id: int) -> HttpResponse:
    epic = epic_for_user(request.user, key, epic_id, need=Role.LEAD)
    try:
        services.epic_delete(epic=epic)
    except ValidationError as error:
        messages.error(request, error_text(error))
        return redirect("epic-detail", key=key, epic_id=epic.pk)
    messages.success(request, f"Epic “{epic.title}” deleted.")
    return redirect("epic-list", key=key)
