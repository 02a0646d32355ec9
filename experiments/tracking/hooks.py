"""What tracking adds to other parts: the runs panel on a ticket's page (through
``tickets.extensions``, so planning never imports this app). Panels load as htmx fragments
after the page, so the ticket page's own query count does not depend on how many runs a
ticket has."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from experiments.tracking.models import Run
from tickets.extensions import TicketPanel, register_ticket_panel
from tickets.models import Ticket
from tickets.versions import touch_on_save


def lazy_panel(url_name: str, ticket: Ticket, *, label: str, testid: str, order: int) -> TicketPanel:
    """A ticket-page panel that loads ``url_name`` (given the ticket key) as an htmx fragment."""
    return TicketPanel(
        template="tracking/partials/lazy_panel.html",
        context={"url": reverse(url_name, kwargs={"ticket_key": ticket.key}), "label": label, "testid": testid},
        order=order,
    )


@register_ticket_panel
def runs_panel(request: HttpRequest, ticket: Ticket) -> TicketPanel:
    return lazy_panel("ticket-runs", ticket, label="runs", testid="ticket-runs-panel", order=10)


# Cached project pages go stale when a run changes (tickets.versions).
touch_on_save(Run, lambda run: {"project_id": run.project_id})
