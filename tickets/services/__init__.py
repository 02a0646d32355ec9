"""Writes for planning, one module per entity. Every change a ticket's history tracks is
written by the service that makes it, in the same transaction (``history``).

Callers use the package (``from tickets import services``; ``services.ticket_create(...)``);
the modules say where each write lives.
"""

from tickets.services.comments import comment_create, comment_delete, comment_update
from tickets.services.epics import epic_create, epic_delete, epic_update
from tickets.services.history import (
    ticket_record_link,
    ticket_record_run_deletion,
    ticket_record_run_link,
    ticket_state,
)
from tickets.services.jira_import import ImportReport, decode_export, jira_import
from tickets.services.memberships import membership_add, membership_change_role, membership_remove
from tickets.services.projects import project_create, project_update
from tickets.services.ranking import GAP, MOVE_LIMIT, tickets_move
from tickets.services.reassessment import EDITABLE_IN_REASSESSMENT, DecisionInput, reassessment_create
from tickets.services.shared import UNSET
from tickets.services.sprints import sprint_close, sprint_create, sprint_delete, sprint_start, sprint_update
from tickets.services.tickets import (
    TRANSITIONS,
    ticket_answer,
    ticket_create,
    ticket_delete,
    ticket_transition,
    ticket_update,
)

__all__ = [
    "EDITABLE_IN_REASSESSMENT",
    "GAP",
    "MOVE_LIMIT",
    "TRANSITIONS",
    "UNSET",
    "DecisionInput",
    "ImportReport",
    "comment_create",
    "comment_delete",
    "comment_update",
    "decode_export",
    "epic_create",
    "epic_delete",
    "epic_update",
    "jira_import",
    "membership_add",
    "membership_change_role",
    "membership_remove",
    "project_create",
    "project_update",
    "reassessment_create",
    "sprint_close",
    "sprint_create",
    "sprint_delete",
    "sprint_start",
    "sprint_update",
    "ticket_answer",
    "ticket_create",
    "ticket_delete",
    "ticket_record_link",
    "ticket_record_run_deletion",
    "ticket_record_run_link",
    "ticket_state",
    "ticket_transition",
    "ticket_update",
    "tickets_move",
]
