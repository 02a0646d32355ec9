"""One way to page a list that grows: Django's Paginator, one page size, the shared pager partial.

Out-of-range or garbage page numbers show the last or first page (``Paginator.get_page``).
A page can have its own query parameter (``param``) so two lists on one page do not clash;
the pager links keep every other query parameter.
"""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

# Sprints, epics, members, benchmarks and champion promotions pile up; their lists show this many a page.
LIST_PAGE_SIZE = 24
# A sprint's or an epic's tickets: one-line table rows, so a page holds more of them.
TICKET_PAGE_SIZE = 50


def page_of(
    request: HttpRequest, rows, *, param: str = "page", per_page: int = LIST_PAGE_SIZE, count: int | None = None
) -> Page:
    """The requested page of ``rows`` (a queryset: one count and one slice query), ready for
    ``partials/pager.html`` (``page.param``, ``page.keep``). A ``count`` the caller already knows
    (an annotated total) saves the count query."""
    paginator = Paginator(rows, per_page)
    if count is not None:
        paginator.count = count  # Paginator.count is a cached_property: this is its cached value
    page = paginator.get_page(request.GET.get(param))
    others = request.GET.copy()
    others.pop(param, None)
    page.param = param
    page.keep = f"{others.urlencode()}&" if others else ""
    return page
