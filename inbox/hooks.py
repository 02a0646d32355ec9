"""What this app adds to others: it listens to the domain events and puts a Watch button on tickets."""

from __future__ import annotations

from django.http import HttpRequest

from agileml import events
from inbox import selectors, services
from tickets.extensions import TicketPanel, register_ticket_panel, register_ticket_viewer_key
from tickets.models import Ticket

events.subscribe(services.notifications_for_event)


@register_ticket_panel
def watch_panel(request: HttpRequest, ticket: Ticket) -> TicketPanel | None:
    if not request.user.is_authenticated:
        return None
    watching = selectors.is_watching(ticket=ticket, user=request.user)
    return TicketPanel(template="inbox/watch_panel.html", context={"watching": watching, "ticket": ticket}, order=1)


@register_ticket_viewer_key
def watching_key(request: HttpRequest, ticket: Ticket) -> bool:
    """The kept ticket page differs by whether the viewer watches the ticket (the panel above)."""
    return request.user.is_authenticated and selectors.is_watching(ticket=ticket, user=request.user)
