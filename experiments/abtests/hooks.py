"""What online tests add to other parts: a panel on a ticket's page listing the online tests of its runs
(through ``tickets.extensions``, so planning never imports this app)."""

from __future__ import annotations

from django.http import HttpRequest

from experiments.abtests.models import OnlineTest
from experiments.tracking.hooks import lazy_panel
from tickets.extensions import TicketPanel, register_ticket_panel
from tickets.models import Ticket
from tickets.versions import touch_on_save


@register_ticket_panel
def abtests_panel(request: HttpRequest, ticket: Ticket) -> TicketPanel:
    return lazy_panel("ticket-abtests", ticket, label="online tests", testid="ticket-abtests-panel", order=30)


# Cached project pages (the benchmark's and the demo's online tests) go stale when a test changes.
touch_on_save(OnlineTest, lambda test: {"benchmarks": test.benchmark_id})
