"""What Git links add to planning: a panel on the ticket page (through ``tickets.extensions``, so
planning never imports this app). It loads as an htmx fragment after the page, so the ticket
page's own query count does not change."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from tickets.extensions import TicketPanel, register_ticket_panel
from tickets.models import Ticket


@register_ticket_panel
def git_links_panel(request: HttpRequest, ticket: Ticket) -> TicketPanel:
    return TicketPanel(
        template="integrations/lazy_panel.html",
        context={"url": reverse("ticket-git-links", kwargs={"ticket_key": ticket.key}), "testid": "ticket-git-panel"},
        order=30,
    )
