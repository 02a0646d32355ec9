"""Template helpers shared by every page."""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()

# The project areas in the top navigation; an area appears once its page exists.
PROJECT_AREAS = [
    ("Overview", "project-home", "bi-house"),
    ("Backlog", "backlog", "bi-list-ol"),
    ("Board", "board", "bi-kanban"),
    ("Epics", "epic-list", "bi-flag"),
    ("Sprints", "sprint-list", "bi-calendar-range"),
    ("Runs", "run-list", "bi-activity"),
    ("Benchmarks", "benchmark-list", "bi-trophy"),
    ("Models", "model-list", "bi-box-seam"),
    ("Dashboard", "dashboard", "bi-graph-up-arrow"),
    ("Members", "members", "bi-people"),
]


@register.inclusion_tag("partials/project_nav.html", takes_context=True)
def project_nav(context: template.Context, project) -> dict:
    request = context.get("request")
    current = request.resolver_match.url_name if request and request.resolver_match else None
    areas = []
    for label, url_name, icon in PROJECT_AREAS:
        try:
            url = reverse(url_name, kwargs={"key": project.key})
        except NoReverseMatch:
            continue
        areas.append({"label": label, "url": url, "icon": icon, "active": current == url_name})
    return {"areas": areas}


ROLE_BADGE = {"lead": "text-bg-primary", "engineer": "text-bg-success", "stakeholder": "text-bg-secondary"}


@register.filter
def role_badge(role: str) -> str:
    return ROLE_BADGE.get(str(role), "text-bg-light")
