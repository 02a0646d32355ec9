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
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings

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
