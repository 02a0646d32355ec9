"""The webhooks page of a project (leads): register endpoints, see their deliveries, redeliver."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from agileml import events
from integrations.access import delivery_for_user, webhook_for_user
from integrations.git import selectors as git_selectors
from integrations.webhooks import selectors, services
from integrations.webhooks.forms import WebhookForm
from tickets.access import project_for_user
from tickets.models import Project, Role


def page_context(request: HttpRequest, project: Project, form: WebhookForm) -> dict[str, Any]:
    hooks = selectors.webhooks_of_project(project=project)
    return {
        "project": project,
        "webhooks": hooks,
        "disabled": [h for h in hooks if h.disabled_at and not h.active],
        "form": form,
        "event_types": events.TYPES,
        "chosen_events": form["events"].value() or [],
        "git": git_selectors.git_settings_of_project(project=project),
        "git_url": request.build_absolute_uri(reverse("api-git-events", args=[project.key])),
    }


@login_required
@require_http_methods(["GET", "POST"])
def webhooks(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key, need=Role.LEAD)
    form = WebhookForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                webhook = services.webhook_create(project=project, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                # The secret is shown once, in this response only.
                context = page_context(request, project, WebhookForm())
                context["created"] = webhook
                return render(request, "integrations/webhooks.html", context, status=201)
        return render(request, "integrations/webhooks.html", page_context(request, project, form), status=400)
    return render(request, "integrations/webhooks.html", page_context(request, project, form))


@login_required
@require_POST
def webhook_toggle(request: HttpRequest, key: str, webhook_id: int) -> HttpResponse:
    webhook = webhook_for_user(request.user, key, webhook_id)
    services.webhook_update(webhook=webhook, active=not webhook.active)
    state = "on" if webhook.active else "off"
    messages.success(request, f"Webhook {webhook.name or webhook.url} is turned {state}.")
    return redirect("webhooks", key=key)


@login_required
@require_POST
def webhook_delete(request: HttpRequest, key: str, webhook_id: int) -> HttpResponse:
    webhook = webhook_for_user(request.user, key, webhook_id)
    services.webhook_delete(webhook=webhook)
    messages.success(request, f"Webhook {webhook.name or webhook.url} is deleted.")
    return redirect("webhooks", key=key)


@login_required
@require_POST
def delivery_redeliver(request: HttpRequest, key: str, webhook_id: int, delivery_id: int) -> HttpResponse:
    delivery = delivery_for_user(request.user, key, webhook_id, delivery_id)
    try:
        services.delivery_redeliver(delivery=delivery, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Delivery {delivery.uid.hex[:8]}… ({delivery.event_type}) is queued again.")
    return redirect("webhooks", key=key)
