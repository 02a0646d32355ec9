"""Git links on pages: the project's Git settings (on the webhooks page) and the ticket page's panel."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from integrations.git import selectors, services
from integrations.webhooks.forms import WebhookForm
from integrations.webhooks.views import page_context
from tickets.access import project_for_user, ticket_for_user
from tickets.models import Role


@login_required
@require_POST
def git_secret(request: HttpRequest, key: str) -> HttpResponse:
    """Make or replace the Git secret; the page shows it once."""
    project = project_for_user(request.user, key, need=Role.LEAD)
    _, secret = services.git_settings_set_secret(project=project)
    context = page_context(request, project, WebhookForm())
    context["git_secret"] = secret
    return render(request, "integrations/webhooks.html", context, status=201)


@login_required
@require_POST
def git_rules(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key, need=Role.LEAD)
    try:
        services.git_settings_update(
            project=project,
            review_on_open=request.POST.get("review_on_open") == "on",
            done_on_merge=request.POST.get("done_on_merge") == "on",
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Git rules saved.")
    return redirect("webhooks", key=key)


@login_required
@require_GET
def ticket_git_links(request: HttpRequest, ticket_key: str) -> HttpResponse:
    ticket = ticket_for_user(request.user, ticket_key)
    links = selectors.git_links_of_ticket(ticket=ticket)
    return render(request, "integrations/ticket_git_links.html", {"ticket": ticket, "links": links})
