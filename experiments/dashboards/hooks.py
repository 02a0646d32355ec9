"""The demo-material panel on a question ticket's page (through ``tickets.extensions``, so
planning never imports this app)."""

from __future__ import annotations

from django.http import HttpRequest

from experiments.dashboards import selectors
from experiments.dashboards.models import DemoMaterial, SprintReview
from tickets.extensions import TicketPanel, register_ticket_panel
from tickets.models import Role, Ticket
from tickets.versions import touch_on_save


@register_ticket_panel
def demo_material_panel(request: HttpRequest, ticket: Ticket) -> TicketPanel | None:
    """Question tickets show their show-and-tell: how many pictures and notes, and where to add them."""
    if not ticket.is_question:
        return None
    counts = selectors.material_counts(ticket=ticket)
    role = getattr(ticket.project, "role", None)
    return TicketPanel(
        template="dashboards/demo/ticket_panel.html",
        context={
            "ticket": ticket,
            "pictures": counts["image"],
            "notes": counts["note"],
            "can_edit": bool(role and Role(role).allows(Role.ENGINEER)),
        },
        order=40,
    )


# Cached project pages go stale when demo material or a sprint review changes.
touch_on_save(DemoMaterial, lambda material: {"tickets": material.ticket_id})
touch_on_save(SprintReview, lambda review: {"sprints": review.sprint_id})
