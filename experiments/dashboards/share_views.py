"""Share links: a lead's page to make, list and revoke them, and the one demo page a link opens
for people without an account (no session, no cookie, strict headers)."""

from __future__ import annotations

import datetime
from typing import Any

from csp.constants import NONE
from csp.decorators import csp_replace
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from experiments.dashboards import selectors, services
from experiments.dashboards.access import share_link_for_user
from experiments.dashboards.forms import EXPIRY_CHOICES, ShareLinkForm
from experiments.dashboards.material_views import material_response
from experiments.dashboards.models import ShareLink, ShareLinkState
from experiments.dashboards.sharing import ShareLinkGone, share_link_for_token
from experiments.dashboards.views import DEMO_QUESTIONS, deferred_demo_context
from tickets import clock
from tickets.access import project_for_user
from tickets.models import Project, Role

SHARED_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}
# The site-wide policy (settings.CONTENT_SECURITY_POLICY), narrowed: a shared page has no
# forms, no base and loads nothing it does not name.
shared_policy = csp_replace({"default-src": [NONE], "base-uri": [NONE], "form-action": [NONE]})


def _links_context(project: Project, form: ShareLinkForm, now: datetime.datetime) -> dict[str, Any]:
    links = selectors.share_links_of_project(project=project, now=now)
    return {
        "project": project,
        "links": links,
        "form": form,
        "sprints": form.sprints.values(),
        "expiry_choices": EXPIRY_CHOICES,
        "active_count": sum(1 for link in links if link.state == ShareLinkState.ACTIVE),
    }


@login_required
@require_http_methods(["GET", "POST"])
def share_links(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key, need=Role.LEAD)
    sprints = selectors.sprints_newest_first(project=project)
    form = ShareLinkForm(request.POST or None, sprints=sprints, initial={"target": request.GET.get("sprint", "")})
    now = clock.now()
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                link, token = services.share_link_create(
                    project=project,
                    actor=request.user,
                    sprint=data["target"],
                    label=data["label"],
                    expires_at=now + datetime.timedelta(days=data["expires_in_days"]),
                )
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                # Shown once, in this response only: the token is not stored and not put in a cookie.
                context = _links_context(project, ShareLinkForm(sprints=sprints), now)
                context["created"] = link
                context["created_url"] = request.build_absolute_uri(reverse("shared-demo", args=[token]))
                return render(request, "dashboards/demo/share_links.html", context, status=201)
        return render(request, "dashboards/demo/share_links.html", _links_context(project, form, now), status=400)
    return render(request, "dashboards/demo/share_links.html", _links_context(project, form, now))


@login_required
@require_GET
def share_link_detail(request: HttpRequest, key: str, link_id: int) -> HttpResponse:
    link = share_link_for_user(request.user, key, link_id)
    link.state = link.state_at(clock.now())
    uses = selectors.share_link_uses(link=link, limit=200)
    return render(
        request,
        "dashboards/demo/share_link_detail.html",
        {"project": link.project, "link": link, "uses": uses},
    )


@login_required
@require_POST
def share_link_revoke(request: HttpRequest, key: str, link_id: int) -> HttpResponse:
    link = share_link_for_user(request.user, key, link_id)
    try:
        services.share_link_revoke(link=link, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Share link {link.token_hint}… is revoked: it no longer opens the demo.")
    return redirect("share-links", key=link.project.key)


def _shared(request: HttpRequest, token: str) -> ShareLink | HttpResponse:
    try:
        return share_link_for_token(token, now=clock.now())
    except ShareLinkGone as gone:
        response = render(
            request,
            "dashboards/demo/gone.html",
            {"state": gone.state, "gone_link": gone.link, "revoked": gone.state == ShareLinkState.REVOKED},
            status=410,
        )
        for name, value in SHARED_HEADERS.items():
            response[name] = value
        return response


@shared_policy
@require_GET
def shared_demo(request: HttpRequest, token: str) -> HttpResponse:
    """The one page a share link opens. It reads no session and sets no cookie."""
    link = _shared(request, token)
    if isinstance(link, HttpResponse):
        return link
    services.share_link_record_use(
        link=link, ip_address=request.META.get("REMOTE_ADDR"), user_agent=request.headers.get("User-Agent", "")
    )
    project = link.project
    context = deferred_demo_context(
        project,
        link.sprint,
        material_url=lambda m: reverse("shared-material", kwargs={"token": token, "material_id": m.pk}),
        key=("shared", link.pk),  # its pictures' addresses carry the link's token
        role=False,
    )
    context.update(
        {"base_template": "dashboards/demo/shared_base.html", "shared": True, "link": link, "can_manage": False}
    )
    response = render(request, "dashboards/demo/page.html", context)
    for name, value in SHARED_HEADERS.items():
        response[name] = value
    return response


@shared_policy
@require_GET
def shared_material(request: HttpRequest, token: str, material_id: int) -> HttpResponse:
    """An image shown on the shared page, and only those: anything else is 404."""
    link = _shared(request, token)
    if isinstance(link, HttpResponse):
        return link
    limit = None if link.sprint_id else DEMO_QUESTIONS
    material = selectors.shared_material(link=link, material_id=material_id, limit=limit)
    if material is None:
        raise Http404("This picture is not part of the shared demo.")
    response = material_response(material)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
