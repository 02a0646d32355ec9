"""Hooks through which other apps add to planning pages, so planning never imports them.

The experiments app, for instance, lists a ticket's runs on the ticket page::

    # experiments/apps.py, in ready()
    from tickets.extensions import TicketPanel, register_ticket_panel

    @register_ticket_panel
    def runs_panel(request, ticket):
        return TicketPanel(template="tracking/ticket_runs.html", context={"runs": ...}, order=10)

The ticket page includes each panel's template in its ``ticket_extra`` block, with the
panel's context available as ``panel``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from tickets.models import Ticket


@dataclass(frozen=True)
class TicketPanel:
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 100


PanelProvider = Callable[[HttpRequest, Ticket], TicketPanel | None]
_providers: list[PanelProvider] = []


def register_ticket_panel(provider: PanelProvider) -> PanelProvider:
    """Register ``provider(request, ticket)`` → a panel for the ticket page, or None to show nothing."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def ticket_panels(request: HttpRequest, ticket: Ticket) -> list[TicketPanel]:
    panels = [panel for provider in _providers if (panel := provider(request, ticket)) is not None]
    return sorted(panels, key=lambda p: p.order)


# What a panel shows one viewer and not another (whether they watch the ticket): part of the key under
# which the ticket page is kept (tickets.fragments.shared_page), so viewers who see the same page share it.
ViewerKey = Callable[[HttpRequest, Ticket], object]
_viewer_keys: list[ViewerKey] = []


def register_ticket_viewer_key(provider: ViewerKey) -> ViewerKey:
    """Register ``provider(request, ticket)`` → what of the ticket page differs for this viewer (hashable)."""
    if provider not in _viewer_keys:
        _viewer_keys.append(provider)
    return provider


def ticket_viewer_keys(request: HttpRequest, ticket: Ticket) -> tuple:
    return tuple(provider(request, ticket) for provider in _viewer_keys)
