"""Pages for projects, members and planning. Thin: access helper → form → service → render."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tickets import selectors, services
from tickets.access import (
    comment_for_user,
    epic_for_user,
    id_or_none,
    project_for_user,
    sprint_for_user,
    ticket_for_user,
)
from tickets.extensions import ticket_panels
from tickets.forms import (
    AnswerForm,
    CommentForm,
    DecisionForm,
    EpicForm,
    MemberAddForm,
    MemberRoleForm,
    PlanFilterForm,
    ProjectCreateForm,
    QuickTicketForm,
    ReassessNoteForm,
    SprintCloseForm,
    SprintForm,
    StatusForm,
    TicketForm,
    apply_errors,
)
from tickets.models import (
    Decision,
    Membership,
    Outcome,
    Role,
    Sprint,
    SprintState,
    Ticket,
    TicketKind,
    TicketStatus,
    WorkType,
)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("project-list")


@login_required
@require_http_methods(["GET", "POST"])
def project_list(request: HttpRequest) -> HttpResponse:
    form = ProjectCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(**form.cleaned_data, lead=request.user)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Project {project.key} created. You are its lead.")
            return redirect("project-home", key=project.key)
    memberships = selectors.memberships_for_user(user=request.user)
    return render(request, "tickets/project_list.html", {"memberships": memberships, "form": form})


@login_required
def project_home(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key)
    context = {
        "project": project,
        "members": selectors.memberships_of_project(project=project),
        "sprint": selectors.current_sprint(project=project),
        "recent": selectors.recently_changed_tickets(project=project),
    }
    return render(request, "tickets/project_home.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest, key: str) -> HttpResponse:
    need = Role.LEAD if request.method == "POST" else Role.STAKEHOLDER
    project = project_for_user(request.user, key, need=need)
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.membership_add(project=project, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{membership.user.username} joined {project.key} as {membership.role}.")
            return redirect("members", key=project.key)
    context = {
        "project": project,
        "members": selectors.memberships_of_project(project=project),
        "form": form,
        "roles": Role.choices,
        "can_manage": project.role == Role.LEAD,
    }
    return render(request, "tickets/members.html", context, status=400 if form.errors else 200)


def _member(project, username: str) -> Membership:
    try:
        return selectors.membership_get(project=project, username=username)
    except Membership.DoesNotExist:
        raise Http404(f"{username} is not a member of {project.key}.") from None


@login_required
@require_POST
def member_role(request: HttpRequest, key: str, username: str) -> HttpResponse:
    project = project_for_user(request.user, key, need=Role.LEAD)
    membership = _member(project, username)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Role: {form.errors['role'][0]}")
    else:
        try:
            services.membership_change_role(membership=membership, role=form.cleaned_data["role"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{username} is now {membership.get_role_display().lower()}.")
    return redirect("members", key=project.key)


@login_required
@require_POST
def member_remove(request: HttpRequest, key: str, username: str) -> HttpResponse:
    project = project_for_user(request.user, key, need=Role.LEAD)
    membership = _member(project, username)
    try:
        services.membership_remove(membership=membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{username} was removed from {project.key}.")
    return redirect("members", key=project.key)


# ======================================================================================
# Planning pages. Stakeholders read everything; engineers create and work tickets;
# leads plan (epics, sprints, ranks) and reassess. Drag-and-drop calls the REST API.
# ======================================================================================
def _allows(project, need: Role) -> bool:
    return Role(project.role).allows(need)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-History-Restore-Request")


def _next_or(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def _error_text(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(f"{m}" for messages_ in error.message_dict.values() for m in messages_)
    return " ".join(error.messages)


def _new_sprint_initial(project) -> dict:
    last = Sprint.objects.filter(project=project).aggregate(end=Max("end_date"), count=Count("id"))
    start = max(last["end"] + datetime.timedelta(days=1), timezone.localdate()) if last["end"] else timezone.localdate()
    return {
        "name": f"Sprint {last['count'] + 1}",
        "start_date": start,
        "end_date": start + datetime.timedelta(days=13),
    }


# --- Backlog and board ------------------------------------------------------------------
@login_required
@require_GET
def backlog(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key)
    form = PlanFilterForm(request.GET or None)
    plan = selectors.plan_for_project(project=project, filters=form.filters())
    context = {
        "project": project,
        "plan": plan,
        "filter_form": form,
        "filtered": form.is_bound and form.is_valid() and form.filters().active,
        "can_plan": _allows(project, Role.LEAD),
        "can_edit": _allows(project, Role.ENGINEER),
        "quick_form": QuickTicketForm(),
        "work_types": WorkType.choices,
        "kinds": TicketKind.choices,
    }
    if context["can_plan"]:
        context["sprint_form"] = SprintForm(initial=_new_sprint_initial(project))
    if _is_htmx(request) and request.headers.get("HX-Target") == "plan":
        return render(request, "tickets/partials/plan.html", context)
    return render(request, "tickets/backlog.html", context)


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
    if not _is_htmx(request):
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
        "can_plan": _allows(project, Role.LEAD),
        "can_edit": True,
    }
    return render(request, "tickets/partials/quick_create.html", context, status=200 if ticket else 422)


@login_required
@require_GET
def board(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key)
    raw = request.GET.get("sprint", "")
    sprint_id = id_or_none(raw)
    if raw and sprint_id is None:
        messages.error(request, f"Sprint: {raw!r} is not a sprint id; showing the current sprint.")
    sprint = selectors.sprint_for_board(project=project, sprint_id=sprint_id)
    if sprint_id is not None and sprint is None:
        raise Http404(f"There is no sprint {sprint_id} in {project.key}.")
    columns = selectors.board_for_sprint(sprint=sprint) if sprint else {}
    if sprint:
        sprint.project = project
    context = {
        "project": project,
        "sprint": sprint,
        "columns": [(TicketStatus(status), tickets) for status, tickets in columns.items()],
        "sprints": Sprint.objects.filter(project=project).order_by("-start_date", "-id"),
        "can_edit": _allows(project, Role.ENGINEER) and sprint is not None and sprint.state != SprintState.CLOSED,
        "total": sum(len(t) for t in columns.values()),
        "done": len(columns.get(TicketStatus.DONE, [])),
    }
    return render(request, "tickets/board.html", context)


# --- Tickets ----------------------------------------------------------------------------
def _ticket_kwargs(form: TicketForm, members) -> dict:
    data = dict(form.cleaned_data)
    users = {m.user.username: m.user for m in members}
    data["assignee"] = users.get(data["assignee"]) if data["assignee"] else None
    return data


@login_required
@require_http_methods(["GET", "POST"])
def ticket_create(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key, need=Role.ENGINEER)
    members = list(selectors.memberships_of_project(project=project))
    can_plan = _allows(project, Role.LEAD)
    initial = {}
    if request.method == "GET" and id_or_none(request.GET.get("sprint", "")) and can_plan:
        initial["sprint"] = request.GET["sprint"]
    if request.method == "GET" and id_or_none(request.GET.get("epic", "")):
        initial["epic"] = request.GET["epic"]
    form = TicketForm(request.POST or None, project=project, members=members, can_plan=can_plan, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.ticket_create(project=project, actor=request.user, **_ticket_kwargs(form, members))
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{ticket.key} created.")
            return redirect("ticket-detail", ticket_key=ticket.key)
    context = {"project": project, "form": form, "creating": True}
    return render(request, "tickets/ticket_form.html", context, status=400 if form.errors else 200)


def _render_ticket(request: HttpRequest, ticket: Ticket, *, status: int = 200, **forms_) -> HttpResponse:
    project = ticket.project
    can_edit = _allows(project, Role.ENGINEER)
    can_plan = _allows(project, Role.LEAD)
    frozen = ticket.sprint is not None and ticket.sprint.state == SprintState.CLOSED
    context = {
        "project": project,
        "ticket": ticket,
        "timeline": selectors.ticket_timeline(ticket=ticket),
        "can_edit": can_edit,
        "can_plan": can_plan,
        "frozen": frozen,
        "next_statuses": [] if frozen or not can_edit else _next_statuses(ticket),
        "answer_form": forms_.get("answer_form")
        or AnswerForm(initial={"answer": ticket.answer, "outcome": ticket.outcome or None}),
        "comment_form": forms_.get("comment_form") or CommentForm(),
        "status_error": forms_.get("status_error"),
        "ticket_panels": ticket_panels(request, ticket),
        "reassessments": selectors.reassessments_of_question(question=ticket) if ticket.is_question else [],
        "outcomes": Outcome.choices,
    }
    if can_plan and ticket.is_question and ticket.outcome:
        context["candidate_count"] = len(selectors.reassessment_candidates(question=ticket))
    return render(request, "tickets/ticket_detail.html", context, status=status)


def _next_statuses(ticket: Ticket) -> list[TicketStatus]:
    allowed = services.TRANSITIONS[ticket.status]
    order = [TicketStatus.TODO, TicketStatus.IN_PROGRESS, TicketStatus.REVIEW, TicketStatus.DONE, TicketStatus.SKIPPED]
    return [TicketStatus(s) for s in order if s in allowed]


@login_required
@require_GET
def ticket_detail(request: HttpRequest, ticket_key: str) -> HttpResponse:
    return _render_ticket(request, ticket_for_user(request.user, ticket_key))


@login_required
@require_http_methods(["GET", "POST"])
def ticket_edit(request: HttpRequest, ticket_key: str) -> HttpResponse:
    ticket = ticket_for_user(request.user, ticket_key, need=Role.ENGINEER)
    project = ticket.project
    members = list(selectors.memberships_of_project(project=project))
    can_plan = _allows(project, Role.LEAD)
    initial = {
        "title": ticket.title, "kind": ticket.kind, "work_type": ticket.work_type, "description": ticket.description,
        "question": ticket.question, "hypothesis": ticket.hypothesis, "deliverable_url": ticket.deliverable_url,
        "assignee": ticket.assignee.username if ticket.assignee else "", "epic": ticket.epic_id,
        "sprint": ticket.sprint_id, "estimate": ticket.estimate,
    }  # fmt: skip
    form = TicketForm(request.POST or None, project=project, members=members, can_plan=can_plan, initial=initial)
    if can_plan and ticket.sprint is not None and ticket.sprint.state == SprintState.CLOSED:
        form.fields["sprint"].disabled = True
        form.fields["sprint"].queryset = Sprint.objects.filter(pk=ticket.sprint_id)
        form.fields["sprint"].help_text = "The sprint is closed: its tickets stay where they were."
    if request.method == "POST" and form.is_valid():
        fields = _ticket_kwargs(form, members)
        if "sprint" in form.fields and form.fields["sprint"].disabled:
            fields.pop("sprint")
        try:
            services.ticket_update(ticket=ticket, actor=request.user, **fields)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{ticket.key} saved.")
            return redirect("ticket-detail", ticket_key=ticket.key)
    context = {"project": project, "form": form, "ticket": ticket}
    return render(request, "tickets/ticket_form.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def ticket_status(request: HttpRequest, ticket_key: str) -> HttpResponse:
    ticket = ticket_for_user(request.user, ticket_key, need=Role.ENGINEER)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _render_ticket(request, ticket, status=400, status_error="Status: pick one of the offered statuses.")
    try:
        updated = services.ticket_transition(
            ticket=ticket, actor=request.user, status=form.cleaned_data["status"], reason=form.cleaned_data["reason"]
        )
    except ValidationError as error:
        return _render_ticket(request, ticket, status=400, status_error=_error_text(error))
    messages.success(request, f"{ticket.key} is now {updated.get_status_display().lower()}.")
    return redirect(_next_or(request, reverse("ticket-detail", kwargs={"ticket_key": ticket.key})))


@login_required
@require_POST
def ticket_answer(request: HttpRequest, ticket_key: str) -> HttpResponse:
    ticket = ticket_for_user(request.user, ticket_key, need=Role.ENGINEER)
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            services.ticket_answer(ticket=ticket, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{ticket.key} is answered: {form.cleaned_data['outcome']}.")
            return redirect("ticket-detail", ticket_key=ticket.key)
    return _render_ticket(request, ticket, status=400, answer_form=form)


@login_required
@require_POST
def ticket_comment(request: HttpRequest, ticket_key: str) -> HttpResponse:
    ticket = ticket_for_user(request.user, ticket_key, need=Role.ENGINEER)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.comment_create(ticket=ticket, author=request.user, body=form.cleaned_data["body"])
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return redirect(reverse("ticket-detail", kwargs={"ticket_key": ticket.key}) + "#timeline-end")
    return _render_ticket(request, ticket, status=400, comment_form=form)


@login_required
@require_POST
def comment_delete(request: HttpRequest, ticket_key: str, comment_id: int) -> HttpResponse:
    comment = comment_for_user(request.user, ticket_key, comment_id, need=Role.ENGINEER, own=True, lead_may=True)
    services.comment_delete(comment=comment)
    messages.success(request, "Comment deleted.")
    return redirect("ticket-detail", ticket_key=ticket_key)


@login_required
@require_POST
def ticket_delete(request: HttpRequest, ticket_key: str) -> HttpResponse:
    ticket = ticket_for_user(request.user, ticket_key, need=Role.LEAD)
    try:
        services.ticket_delete(ticket=ticket)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect("ticket-detail", ticket_key=ticket.key)
    messages.success(request, f"{ticket.key} deleted.")
    return redirect("backlog", key=ticket.project.key)


@login_required
@require_http_methods(["GET", "POST"])
def ticket_reassess(request: HttpRequest, ticket_key: str) -> HttpResponse:
    question = ticket_for_user(request.user, ticket_key, need=Role.LEAD)
    project = question.project
    if not question.is_question or not question.outcome:
        messages.error(request, f"{question.key} is not an answered question: answer it before reassessing.")
        return redirect("ticket-detail", ticket_key=question.key)
    candidates = selectors.reassessment_candidates(question=question)
    rows = [
        (
            ticket,
            DecisionForm(
                request.POST or None,
                prefix=ticket.key,
                initial={"title": ticket.title, "kind": ticket.kind, "work_type": ticket.work_type},
            ),
        )
        for ticket in candidates
    ]
    note_form = ReassessNoteForm(request.POST or None)
    error = None
    if request.method == "POST":
        if not candidates:
            error = "There are no open tickets to reassess."
        elif note_form.is_valid() and all(form.is_valid() for _, form in rows):
            decisions = []
            for ticket, form in rows:
                data = form.cleaned_data
                changes = {}
                if data["decision"] == Decision.EDIT:
                    changes = {
                        name: data[name]
                        for name in ("title", "kind", "work_type")
                        if data[name] and data[name] != getattr(ticket, name)
                    }
                decisions.append(
                    services.DecisionInput(
                        ticket=ticket.key, decision=data["decision"], reason=data["reason"], changes=changes
                    )
                )
            try:
                services.reassessment_create(
                    question=question, actor=request.user, decisions=decisions, note=note_form.cleaned_data["note"]
                )
            except ValidationError as failure:
                error = _attach_decision_errors(failure, rows)
            else:
                changed = sum(1 for d in decisions if d.decision != Decision.KEEP)
                messages.success(
                    request,
                    f"Reassessment recorded: {changed} of {len(decisions)} tickets changed after {question.key}.",
                )
                return redirect("ticket-detail", ticket_key=question.key)
        else:
            error = "Some decisions are incomplete; see the highlighted rows."
    context = {
        "project": project,
        "question": question,
        "rows": rows,
        "note_form": note_form,
        "error": error,
        "reassessments": selectors.reassessments_of_question(question=question),
    }
    return render(request, "tickets/reassess.html", context, status=400 if error else 200)


def _attach_decision_errors(error: ValidationError, rows) -> str:
    """Put a service error like ``decisions[2].reason`` on row 2's reason field; returns the summary."""
    texts = []
    for name, problems in error.message_dict.items():
        texts += problems
        if name.startswith("decisions["):
            index_text, _, field = name[len("decisions[") :].partition("].")
            if index_text.isdigit() and int(index_text) < len(rows):
                form = rows[int(index_text)][1]
                form.add_error(field if field in form.fields else None, problems)
    return " ".join(texts)


# --- Sprints ----------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def sprint_list(request: HttpRequest, key: str) -> HttpResponse:
    need = Role.LEAD if request.method == "POST" else Role.STAKEHOLDER
    project = project_for_user(request.user, key, need=need)
    form = SprintForm(request.POST or None, initial=_new_sprint_initial(project) if request.method == "GET" else None)
    if request.method == "POST" and form.is_valid():
        try:
            sprint = services.sprint_create(project=project, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{sprint.name} is planned. Drag tickets into it from the backlog.")
            return redirect(_next_or(request, reverse("sprint-detail", kwargs={"key": key, "sprint_id": sprint.pk})))
    context = {
        "project": project,
        "sprints": selectors.sprints_of_project(project=project),
        "form": form,
        "can_plan": _allows(project, Role.LEAD),
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
    tickets = selectors.tickets_of_sprint(sprint=sprint)
    by_key = {t.key: t for t in tickets}
    planned = list(Sprint.objects.filter(project=project, state=SprintState.PLANNED).exclude(pk=sprint.pk))
    context = {
        "project": project,
        "sprint": sprint,
        "tickets": tickets,
        "by_key": by_key,
        "form": form,
        "close_form": SprintCloseForm(planned=planned),
        "planned": planned,
        "can_plan": _allows(project, Role.LEAD),
        "done": sum(1 for t in tickets if t.status == TicketStatus.DONE),
        "skipped": sum(1 for t in tickets if t.status == TicketStatus.SKIPPED),
        "open_count": sum(1 for t in tickets if t.is_open),
        "active_sprint": Sprint.objects.filter(project=project, state=SprintState.ACTIVE).first(),
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


def _snapshot_rows(snapshot: dict | None) -> list[dict]:
    if not snapshot:
        return []
    return [
        {"name": name, "label": label, "icon": icon, "keys": snapshot.get(name, [])}
        for name, label, icon in SNAPSHOT_ROWS
    ]


@login_required
@require_POST
def sprint_start(request: HttpRequest, key: str, sprint_id: int) -> HttpResponse:
    sprint = sprint_for_user(request.user, key, sprint_id, need=Role.LEAD)
    try:
        services.sprint_start(sprint=sprint, actor=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, f"{sprint.name} started. Good luck!")
    return redirect(_next_or(request, reverse("sprint-detail", kwargs={"key": key, "sprint_id": sprint.pk})))


@login_required
@require_POST
def sprint_close(request: HttpRequest, key: str, sprint_id: int) -> HttpResponse:
    sprint = sprint_for_user(request.user, key, sprint_id, need=Role.LEAD)
    planned = list(Sprint.objects.filter(project=sprint.project, state=SprintState.PLANNED))
    form = SprintCloseForm(request.POST, planned=planned)
    fallback = reverse("sprint-detail", kwargs={"key": key, "sprint_id": sprint.pk})
    if not form.is_valid():
        messages.error(request, "Choose where the unfinished tickets go: a planned sprint or the backlog.")
        return redirect(_next_or(request, fallback))
    choice = form.cleaned_data["carry_over_to"]
    target = next((s for s in planned if str(s.pk) == choice), None)
    try:
        closed = services.sprint_close(sprint=sprint, actor=request.user, carry_over_to=target)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect(_next_or(request, fallback))
    counts = closed.snapshot["counts"]
    messages.success(
        request,
        f"{closed.name} closed: {counts['completed']} completed, {counts['skipped']} skipped, "
        f"{counts['carried_over']} carried over to {target.name if target else 'the backlog'}.",
    )
    return redirect(_next_or(request, fallback))


@login_required
@require_POST
def sprint_delete(request: HttpRequest, key: str, sprint_id: int) -> HttpResponse:
    sprint = sprint_for_user(request.user, key, sprint_id, need=Role.LEAD)
    try:
        services.sprint_delete(sprint=sprint, actor=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect("sprint-detail", key=key, sprint_id=sprint.pk)
    messages.success(request, f"{sprint.name} deleted; its tickets are back in the backlog.")
    return redirect("backlog", key=key)


# --- Epics ------------------------------------------------------------------------------
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
    context = {
        "project": project,
        "epics": selectors.epics_of_project(project=project),
        "form": form,
        "can_plan": _allows(project, Role.LEAD),
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
    context = {
        "project": project,
        "epic": epic,
        "tickets": selectors.tickets_of_epic(epic=epic),
        "form": form,
        "can_plan": _allows(project, Role.LEAD),
        "can_edit": _allows(project, Role.ENGINEER),
    }
    return render(request, "tickets/epic_detail.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def epic_delete(request: HttpRequest, key: str, epic_id: int) -> HttpResponse:
    epic = epic_for_user(request.user, key, epic_id, need=Role.LEAD)
    try:
        services.epic_delete(epic=epic)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect("epic-detail", key=key, epic_id=epic.pk)
    messages.success(request, f"Epic “{epic.title}” deleted.")
    return redirect("epic-list", key=key)
