"""Ticket pages: create, read, edit, change status, answer a question, comment, delete, and reassess
the plan after an answer. Stakeholders read; engineers create and work tickets; leads delete and reassess."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tickets import selectors, services, timeline_selectors
from tickets.access import (
    comment_for_user,
    id_or_none,
    project_for_user,
    ticket_for_user,
)
from tickets.extensions import ticket_panels, ticket_viewer_keys
from tickets.forms import (
    AnswerForm,
    CommentForm,
    DecisionForm,
    ReassessNoteForm,
    StatusForm,
    TicketForm,
    apply_errors,
)
from tickets.fragments import shared_page
from tickets.models import (
    Decision,
    Outcome,
    Role,
    SprintState,
    Ticket,
    TicketStatus,
)
from tickets.views import allows, error_text, next_or


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
    can_plan = allows(project, Role.LEAD)
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
    return render(request, "tickets/ticket_detail.html", _ticket_context(request, ticket, **forms_), status=status)


def _ticket_context(request: HttpRequest, ticket: Ticket, **forms_) -> dict:
    project = ticket.project
    can_edit = allows(project, Role.ENGINEER)
    can_plan = allows(project, Role.LEAD)
    frozen = ticket.sprint is not None and ticket.sprint.state == SprintState.CLOSED
    context = {
        "project": project,
        "ticket": ticket,
        "timeline": timeline_selectors.ticket_timeline(ticket=ticket),
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
    return context


def _next_statuses(ticket: Ticket) -> list[TicketStatus]:
    allowed = services.TRANSITIONS[ticket.status]
    order = [TicketStatus.TODO, TicketStatus.IN_PROGRESS, TicketStatus.REVIEW, TicketStatus.DONE, TicketStatus.SKIPPED]
    return [TicketStatus(s) for s in order if s in allowed]


@login_required
@require_GET
def ticket_detail(request: HttpRequest, ticket_key: str) -> HttpResponse:
    ticket = ticket_for_user(request.user, ticket_key, bare=True)
    # Kept per role and for what differs per viewer: the comments they wrote (which they may delete)
    # and what other apps' panels show them (tickets.extensions); most viewers share one page.
    own = tuple(selectors.comment_ids_by(ticket=ticket, author=request.user))
    return shared_page(
        request,
        ticket.project,
        "tickets/ticket_detail.html",
        lambda: _ticket_context(request, ticket_for_user(request.user, ticket_key)),
        ticket.pk,
        own,
        *ticket_viewer_keys(request, ticket),
    )


@login_required
@require_http_methods(["GET", "POST"])
def ticket_edit(request: HttpRequest, ticket_key: str) -> HttpResponse:
    ticket = ticket_for_user(request.user, ticket_key, need=Role.ENGINEER)
    project = ticket.project
    members = list(selectors.memberships_of_project(project=project))
    can_plan = allows(project, Role.LEAD)
    initial = {
        "title": ticket.title, "kind": ticket.kind, "work_type": ticket.work_type, "description": ticket.description,
        "question": ticket.question, "hypothesis": ticket.hypothesis, "deliverable_url": ticket.deliverable_url,
        "assignee": ticket.assignee.username if ticket.assignee else "", "epic": ticket.epic_id,
        "sprint": ticket.sprint_id, "estimate": ticket.estimate,
    }  # fmt: skip
    form = TicketForm(request.POST or None, project=project, members=members, can_plan=can_plan, initial=initial)
    if can_plan and ticket.sprint is not None and ticket.sprint.state == SprintState.CLOSED:
        form.fields["sprint"].disabled = True
        form.fields["sprint"].queryset = selectors.sprint_by_id(sprint_id=ticket.sprint_id)
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
        return _render_ticket(request, ticket, status=400, status_error=error_text(error))
    messages.success(request, f"{ticket.key} is now {updated.get_status_display().lower()}.")
    return redirect(next_or(request, reverse("ticket-detail", kwargs={"ticket_key": ticket.key})))


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
        messages.error(request, error_text(error))
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
            decisions = [_decision(ticket, form.cleaned_data) for ticket, form in rows]
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


def _decision(ticket, data: dict) -> services.DecisionInput:
    """One row of the reassessment form as the service takes it; an edit keeps only what changed."""
    changes = {}
    if data["decision"] == Decision.EDIT:
        changes = {
            name: data[name]
            for name in ("title", "kind", "work_type")
            if data[name] and data[name] != getattr(ticket, name)
        }
    return services.DecisionInput(ticket=ticket.key, decision=data["decision"], reason=data["reason"], changes=changes)


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
