"""Cached page fragments: what every viewer of a project (with one role) sees alike, rendered once.

A page's view hands its template the fragment's data *deferred* (computed on first use) and a
``fragment_version``; the template wraps the fragment in Django's cache tag::

    {% cache FRAGMENT_SECONDS "kaizen" fragment_version %} ... {% endcache %}

On a hit the fragment's data is never computed (no queries, no figures); on a miss the template
asks for it and it is computed once. The version names the project (and the moment it was
created, so a project that reuses a deleted one's id never sees its fragments), its content
version (``tickets.versions``: bumped in the transaction of any change the page shows), the
viewer's role when the fragment differs by role (edit buttons), and the current minute for
pages that say "3 minutes ago" or draw a chart up to now. Fragments must hold nothing
per-viewer or per-request: no ``{% csrf_token %}``, no CSP nonce, no user name.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.crypto import salted_hmac
from django.utils.html import escape
from django.utils.translation import get_language

from tickets import clock


def fragment_version(project: Any, *parts: object, role: bool = True, minute: bool = True) -> str:
    """The key of a project's fragment: changes whenever what the fragment shows may have changed."""
    bits = [project.pk, int(project.created_at.timestamp()), project.content_version]
    if role:
        bits.append(str(getattr(project, "role", "")))
    if minute:
        bits.append(int(clock.now().timestamp() // 60))
    bits.extend(parts)
    return ".".join(str(bit) for bit in bits)


def fragment_context(project: Any, *parts: object, role: bool = True, minute: bool = True) -> dict[str, Any]:
    """What a template needs for ``{% cache FRAGMENT_SECONDS name fragment_version %}``."""
    return {
        "fragment_version": fragment_version(project, *parts, role=role, minute=minute),
        "FRAGMENT_SECONDS": settings.FRAGMENT_CACHE_SECONDS,
    }


class Deferred:
    """A dict of context values built by ``build()`` on the first use of any of them (at most once).
    A name ``build()`` did not return reads as None."""

    def __init__(self, build: Callable[[], dict[str, Any]]) -> None:
        self._build = build
        self._values: dict[str, Any] | None = None

    def _get(self, name: str) -> Any:
        if self._values is None:
            self._values = self._build()
        return self._values.get(name)  # a name this page does not have: None, as templates expect

    def context(self, names: Iterable[str]) -> dict[str, Any]:
        """Template context entries for ``names``: callables, which templates call on first lookup."""
        return {name: functools.partial(self._get, name) for name in names}


# --- Whole pages ---------------------------------------------------------------------------
# A project page is the same for every member with one role, apart from the viewer's own bits:
# their CSRF token, their name and their list of projects in the top bar. The page is rendered
# once per fragment version with marks in those places and kept whole; each request then costs
# the access check (whose query also brings the viewer's projects) and three string replacements.
# The marks are derived from SECRET_KEY, so no text a user writes can contain one.
_MARKS = {name: "pg" + salted_hmac("agileml.page-mark", name).hexdigest()[:24] for name in ("csrf", "user", "nav")}


def shared_page(
    request: HttpRequest,
    project: Any,
    template: str,
    build: Callable[[], dict[str, Any] | HttpResponse],
    *parts: object,
    minute: bool = True,
) -> HttpResponse:
    """The page ``template`` of ``project`` with the context ``build()`` returns, rendered at most
    once per fragment version (content, role, minute), URL and host, and ``parts`` (what else the
    page depends on: the run list's tracking version, the ticket page's per-viewer rights). ``build``
    may return a response instead (a refusal, a redirect): that is sent as it is and not kept. A page
    that has messages to show, or gains some while it is built, is rendered for this request only."""
    if request.method != "GET" or settings.FRAGMENT_CACHE_SECONDS <= 0 or len(get_messages(request)):
        return _render_plain(request, template, build())
    version = fragment_version(
        project,
        template,
        request.get_host(),
        request.scheme,
        request.get_full_path(),
        *parts,
        minute=minute,
    )
    key = "page:" + hashlib.sha256(version.encode()).hexdigest()
    html = cache.get(key)
    if html is None:
        context = build()
        if isinstance(context, HttpResponse) or len(get_messages(request)):
            return _render_plain(request, template, context)
        context = {**context, "csrf_token": _MARKS["csrf"], "page_marks": _MARKS}
        html = render_to_string(template, context, request)
        cache.set(key, html, settings.FRAGMENT_CACHE_SECONDS)
    return HttpResponse(_personal(request, project, html))


def _render_plain(request: HttpRequest, template: str, context: dict[str, Any] | HttpResponse) -> HttpResponse:
    return context if isinstance(context, HttpResponse) else render(request, template, context)


# Rendered project switchers, by what they show (a few per user at most; emptied when full).
_NAV: dict[tuple, str] = {}
_NAV_MAX = 4096


def _personal(request: HttpRequest, project: Any, html: str) -> str:
    """A kept page with this viewer's token, name and projects in place of the marks."""
    from tickets.context_processors import switcher_memberships

    user = request.user
    memberships = switcher_memberships(user)
    # Everything the switcher shows, so one rendering serves every viewer with the same projects.
    nav_key = (
        project.pk,
        get_script_prefix(),
        get_language(),
        tuple((m.project_id, m.project.key, m.project.name, m.role) for m in memberships),
    )
    nav = _NAV.get(nav_key)
    if nav is None:
        nav = render_to_string("partials/project_switcher.html", {"nav_memberships": memberships, "project": project})
        if len(_NAV) >= _NAV_MAX:
            _NAV.clear()
        _NAV[nav_key] = nav
    return (
        html.replace(_MARKS["csrf"], get_token(request))
        .replace(_MARKS["user"], str(escape(user.get_username())))
        .replace(_MARKS["nav"], nav)
    )
