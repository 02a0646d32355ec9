"""Pages for projects, members and planning. Thin: access helper → form → service → render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from tickets import selectors, services
from tickets.access import (
    can_create_projects,
    project_for_user,
    require_project_creator,
)
from tickets.forms import (
    JiraImportForm,
    MemberAddForm,
    MemberRoleForm,
    ProjectCreateForm,
    apply_errors,
)
from tickets.fragments import Deferred, fragment_context, shared_page
from tickets.models import (
    Membership,
    Project,
    Role,
)
from tickets.paging import page_of


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("project-list")


@login_required
@require_http_methods(["GET", "POST"])
def project_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        require_project_creator(request.user)
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
    context = {"memberships": memberships, "form": form, "can_create": can_create_projects(request.user)}
    return render(request, "tickets/project_list.html", context)


@login_required
def project_home(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key)
    return shared_page(request, project, "tickets/project_home.html", lambda: _home(request, project))


def _home(request: HttpRequest, project: Project) -> dict:
    # The same for every member with this role: the template caches it (tickets.fragments).
    deferred = Deferred(lambda: _overview(request, project))
    return {
        "project": project,
        **fragment_context(project, request.GET.get("page", "")),
        **deferred.context(["page", "members", "sprint", "recent"]),
    }


def _overview(request: HttpRequest, project: Project) -> dict:
    page = page_of(request, selectors.memberships_of_project(project=project))
    return {
        "page": page,
        "members": page.object_list,
        "sprint": selectors.current_sprint(project=project),
        "recent": selectors.recently_changed_tickets(project=project),
    }


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
    page = page_of(request, selectors.memberships_of_project(project=project))
    context = {
        "project": project,
        "page": page,
        "members": page.object_list,
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


@login_required
@require_http_methods(["GET", "POST"])
def import_jira(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key, need=Role.LEAD)
    form = JiraImportForm(request.POST, request.FILES) if request.method == "POST" else JiraImportForm()
    report = None
    if request.method == "POST" and form.is_valid():
        try:
            text = services.decode_export(form.cleaned_data["file"].read())
            report = services.jira_import(
                project=project, actor=request.user, text=text, dry_run=form.cleaned_data["dry_run"]
            )
        except ValidationError as error:
            apply_errors(form, error)
    context = {"project": project, "form": form, "report": report}
    return render(request, "tickets/import_jira.html", context, status=400 if form.errors else 200)


# ======================================================================================
# Planning pages. Stakeholders read everything; engineers create and work tickets;
# leads plan (epics, sprints, ranks) and reassess. Drag-and-drop calls the REST API.
# ======================================================================================
def allows(project, need: Role) -> bool:
    return Role(project.role).allows(need)


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-History-Restore-Request")


def next_or(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def error_text(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(f"{m}" for messages_ in error.message_dict.values() for m in messages_)
    return " ".join(error.messages)


# --- Backlog and board ------------------------------------------------------------------


# --- Tickets ----------------------------------------------------------------------------


# --- Sprints ----------------------------------------------------------------------------


# --- Epics ------------------------------------------------------------------------------
