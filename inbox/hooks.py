"""What this app adds to others: it listens to the domain events and puts a Watch button on tickets."""

from __future__ import annotations

from django.http import HttpRequest

from agileml import events
from inbox import selectors, services
from inbox.models import Watcher
from tickets.extensions import TicketPanel, register_ticket_panel
from tickets.models import Ticket
from tickets.versions import touch_on_save

events.subscribe(services.notifications_for_event)
# The ticket page (kept per viewer, tickets.fragments) shows whether the viewer watches the ticket.
touch_on_save(Watcher, lambda watcher: {"tickets": watcher.ticket_id})


@register_ticket_panel
def watch_panel(request: HttpRequest, ticket: Ticket) -> TicketPanel | None:
    if not request.user.is_authenticated:
        return None
    watching = selectors.is_watching(ticket=ticket, user=request.user)
    return TicketPanel(template="inbox/watch_panel.html", context={"watching": watching, "ticket": ticket}, order=1)
