"""Pages: project search, the inbox, the bell's count, Watch/Unwatch on a ticket, the e-mail preference."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inbox import search, selectors, services
from inbox.forms import PreferenceForm
from tickets.access import owned_object_for_user, project_for_user, ticket_for_user

PAGE_SIZE = 50


@require_GET
def project_search(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key)
    found = search.search_project(project=project, query=request.GET.get("q", ""))
    return render(request, "inbox/search.html", {"project": project, "found": found})


@never_cache
@login_required
@require_GET
def inbox_page(request: HttpRequest) -> HttpResponse:
    rows = selectors.notifications_of_user(user=request.user)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "inbox/inbox.html", {"page": page, "notifications": page.object_list})


@never_cache
@require_GET
def inbox_count(request: HttpRequest) -> HttpResponse:
    """The bell's badge (polled by htmx): empty for nobody signed in or nothing unread."""
    count = selectors.unread_count(user=request.user) if request.user.is_authenticated else 0
    return render(request, "inbox/partials/count.html", {"count": count})


@login_required
@require_POST
def notification_open(request: HttpRequest, notification_id: str) -> HttpResponse:
    """Mark a notification read and go to the page it is about."""
    row = owned_object_for_user(
        request.user, selectors.notifications_for_access(), notification_id, owner_field="recipient"
    )
    services.notification_mark_read(notification=row)
    target = row.url if url_has_allowed_host_and_scheme(row.url, allowed_hosts=None) else ""
    return redirect(target or "inbox")


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    marked = services.notifications_mark_all_read(user=request.user)
    messages.success(request, f"Marked {marked} notification{'s' if marked != 1 else ''} read.")
    return redirect("inbox")


@require_POST
def ticket_watch(request: HttpRequest, ticket_key: str) -> HttpResponse:
    """Watch or unwatch (``watch=0``) a ticket; any member may, stakeholders included (it changes only their inbox)."""
    ticket = ticket_for_user(request.user, ticket_key)
    if request.POST.get("watch") == "0":
        services.ticket_unwatch(ticket=ticket, user=request.user)
        messages.info(request, f"You no longer watch {ticket.key}.")
    else:
        services.ticket_watch(ticket=ticket, user=request.user)
        messages.success(request, f"You watch {ticket.key}: you will hear about its changes.")
    return redirect("ticket-detail", ticket_key=ticket.key)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences(request: HttpRequest) -> HttpResponse:
    form = PreferenceForm(request.POST or None, initial={"email": selectors.email_choice(user=request.user)})
    if request.method == "POST":
        if form.is_valid():
            services.preference_set(user=request.user, email=form.cleaned_data["email"])
            messages.success(request, "Saved: " + dict(form.fields["email"].choices)[form.cleaned_data["email"]] + ".")
            return redirect("account-notifications")
        return render(request, "inbox/preferences.html", {"form": form}, status=400)
    return render(request, "inbox/preferences.html", {"form": form})
