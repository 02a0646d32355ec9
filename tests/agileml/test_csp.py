"""A Content-Security-Policy on every page (django-csp), and templates that need no inline script."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import path

import agileml.urls
from experiments.dashboards import services as dashboard_services
from tickets import clock

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)


def boom(request):
    raise RuntimeError("a bug")


# A URL configuration with one failing view, to see the 500 page's headers.
urlpatterns = [path("boom/", boom), *agileml.urls.urlpatterns]
handler400, handler403, handler404, handler500 = (
    agileml.urls.handler400,
    agileml.urls.handler403,
    agileml.urls.handler404,
    agileml.urls.handler500,
)


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def assert_site_policy(response) -> None:
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    script = policy["script-src"]
    assert script[0] == "'self'" and all(s.startswith("'nonce-") for s in script[1:]), script
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    # No other host anywhere in the policy.
    assert not re.search(r"https?:|\*", response["Content-Security-Policy"])


@pytest.mark.parametrize(
    ("who", "url", "status"),
    [
        ("lead", "/projects/", 200),
        ("lead", "/p/AUTH/", 200),
        ("lead", "/p/AUTH/backlog/", 200),
        ("engineer", "/p/AUTH/benchmarks/", 200),
        ("stakeholder", "/p/AUTH/dashboard/", 200),
        ("stakeholder", "/p/AUTH/members/", 200),
        (None, "/login/", 200),
        (None, "/api/docs/", 200),
        (None, "/mlflow/", 200),
        ("lead", "/p/NOPE/", 404),  # error pages
        ("outsider", "/p/AUTH/", 404),
        ("stakeholder", "/p/AUTH/tickets/new/", 403),
    ],
)
def test_member_pages_and_error_pages_carry_the_policy(cast, web, who, url, status):
    response = web(cast.user(who) if who else None).get(url)
    assert response.status_code == status
    assert_site_policy(response)


def test_api_errors_carry_the_policy_too(cast, api):
    response = api(cast.outsider).get("/api/v1/projects/AUTH/")
    assert response.status_code == 404
    assert_site_policy(response)


@override_settings(ROOT_URLCONF=__name__)
def test_the_server_error_page_carries_the_policy(cast):
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    assert "500" in response.content.decode()
    assert_site_policy(response)


def test_a_shared_page_has_a_narrower_policy(cast):
    _, token = dashboard_services.share_link_create(
        project=cast.project,
        actor=cast.lead,
        sprint=None,
        label="Board",
        expires_at=clock.now() + datetime.timedelta(days=7),
    )
    response = Client().get(f"/s/{token}/")
    assert response.status_code == 200
    policy = directives(response)
    assert policy["default-src"] == ["'none'"] and policy["form-action"] == ["'none'"]
    assert policy["script-src"][0] == "'self'" and policy["img-src"] == ["'self'", "data:"]
    gone = Client().get("/s/" + "x" * 43 + "/")
    assert gone.status_code == 404
    assert "Content-Security-Policy" in gone


TEMPLATE_DIRS = [ROOT / "templates", ROOT / "accounts" / "templates", *sorted(ROOT.glob("experiments/*/templates"))]
TEMPLATES = sorted(p for d in TEMPLATE_DIRS for p in d.rglob("*.html"))


def test_the_templates_were_found():
    assert len(TEMPLATES) > 40


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_inline_handlers_or_inline_script(template):
    """Inline handlers and inline scripts are refused by the policy; behaviour lives in static/ files."""
    text = template.read_text()
    assert not re.search(r"\son[a-z]+\s*=", text, re.IGNORECASE), "inline event handler"
    assert "javascript:" not in text.lower()
    for tag in re.findall(r"<script\b[^>]*>", text):
        assert "src=" in tag, f"inline script: {tag}"
