"""Reassessing a sprint's and an epic's open tickets after a question is answered: one recorded decision per ticket."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from tickets import clock
from tickets.models import (
    Decision,
    Project,
    Reassessment,
    ReassessmentDecision,
    Ticket,
    TicketKind,
    TicketStatus,
)
from tickets.services.history import record_events
from tickets.services.ranking import place_tickets
from tickets.services.shared import lock_project, number_from_key
from tickets.services.tickets import ticket_update

EDITABLE_IN_REASSESSMENT = ("title", "kind", "work_type", "estimate")


@dataclass(frozen=True)
class DecisionInput:
    """One ticket's fate in a reassessment. ``changes`` (for edits) may hold title, kind, work_type, estimate."""

    ticket: str
    decision: str
    reason: str = ""
    changes: dict[str, Any] = dataclass_field(default_factory=dict)


@transaction.atomic
def reassessment_create(
    *,
    question: Ticket,
    actor: AbstractBaseUser | None,
    decisions: Sequence[DecisionInput],
    note: str = "",
) -> Reassessment:
    """Record and apply what the answer to ``question`` changes: keep, skip, send to backlog or edit tickets."""
    project = question.project
    qkey = question.key
    if question.kind != TicketKind.QUESTION:
        raise ValidationError({"question": f"{qkey} is a code ticket; reassess after answering a question."})
    if not decisions:
        raise ValidationError({"decisions": "Decide about at least one ticket."})
    lock_project(project)
    fresh_question = Ticket.objects.get(pk=question.pk)
    if not fresh_question.outcome:
        raise ValidationError({"question": f"{qkey} has no answer yet; answer it before reassessing."})
    numbers = _decision_numbers(project, question, decisions)
    found = {
        t.number: t
        for t in Ticket.objects.select_for_update(of=("self",))
        .select_related("sprint")
        .filter(project=project, number__in=numbers)
        .order_by("id")
    }
    for i, (item, number) in enumerate(zip(decisions, numbers, strict=True)):
        _check_decision(item, found.get(number), where=f"decisions[{i}]")

    at = clock.now()
    reassessment = Reassessment.objects.create(
        project=project,
        question=fresh_question,
        actor=actor,
        outcome=fresh_question.outcome,
        note=(note or "").strip(),
        created_at=at,
    )
    rows = []
    to_backlog = []
    for i, (item, number) in enumerate(zip(decisions, numbers, strict=True)):
        ticket = found[number]
        ticket.project = project
        try:
            changes = _apply_decision(item, ticket, actor=actor, reassessment=reassessment)
        except ValidationError as error:
            raise ValidationError({f"decisions[{i}].{k}": v for k, v in error.message_dict.items()}) from None
        if item.decision == Decision.BACKLOG:
            to_backlog.append(ticket)
        rows.append(
            ReassessmentDecision(
                reassessment=reassessment,
                ticket=ticket,
                decision=item.decision,
                reason=item.reason.strip(),
                changes=changes,
            )
        )
    if to_backlog:
        note_text = f"Sent to the backlog after {qkey} was answered"
        record_events(
            place_tickets(
                project, to_backlog, None, side="start", actor=actor, at=at, note=note_text, reassessment=reassessment
            )
        )
    ReassessmentDecision.objects.bulk_create(rows)
    return reassessment


def _decision_numbers(project: Project, question: Ticket, decisions: Sequence[DecisionInput]) -> list[int]:
    """The ticket number of each decision: none twice, and not the question itself."""
    numbers: list[int] = []
    for i, item in enumerate(decisions):
        number = number_from_key(project, item.ticket, f"decisions[{i}].ticket")
        if number in numbers:
            raise ValidationError({f"decisions[{i}].ticket": f"{item.ticket} is listed twice."})
        if number == question.number:
            raise ValidationError({f"decisions[{i}].ticket": f"{question.key} is the question being reassessed."})
        numbers.append(number)
    return numbers


def _check_decision(item: DecisionInput, ticket: Ticket | None, *, where: str) -> None:
    """Refuse a decision that cannot apply to ``ticket`` (the error names ``where``, e.g. ``decisions[2]``)."""
    if ticket is None:
        raise ValidationError({f"{where}.ticket": f"There is no ticket {item.ticket}."})
    if not ticket.is_open:
        raise ValidationError(
            {
                f"{where}.ticket": f"{item.ticket} is {ticket.get_status_display().lower()}; only open tickets "
                "are reassessed."
            }
        )
    if item.decision not in Decision.values:
        raise ValidationError({f"{where}.decision": f"{item.decision!r} is not one of {', '.join(Decision.values)}."})
    if item.decision == Decision.SKIP and not item.reason.strip():
        raise ValidationError({f"{where}.reason": f"Say why {item.ticket} is skipped: skipping needs a reason."})
    if item.decision == Decision.BACKLOG and ticket.sprint_id is None:
        raise ValidationError({f"{where}.decision": f"{item.ticket} is already in the backlog."})
    if item.decision == Decision.EDIT:
        unknown = set(item.changes) - set(EDITABLE_IN_REASSESSMENT)
        if unknown:
            raise ValidationError(
                {
                    f"{where}.changes": f"Only {', '.join(EDITABLE_IN_REASSESSMENT)} can be edited here, "
                    f"not {', '.join(sorted(unknown))}."
                }
            )
        if not item.changes:
            raise ValidationError({f"{where}.changes": f"Say what changes in {item.ticket}."})


def _apply_decision(
    item: DecisionInput, ticket: Ticket, *, actor: AbstractBaseUser | None, reassessment: Reassessment
) -> dict[str, list[Any]]:
    """Skip or edit ``ticket`` as decided (backlog moves are done together by the caller); returns what changed."""
    if item.decision == Decision.SKIP:
        ticket_update(
            ticket=ticket, actor=actor, status=TicketStatus.SKIPPED, skip_reason=item.reason, reassessment=reassessment
        )
    elif item.decision == Decision.EDIT:
        before = {name: getattr(ticket, name) for name in item.changes}
        updated = ticket_update(ticket=ticket, actor=actor, reassessment=reassessment, **item.changes)
        after = {name: getattr(updated, name) for name in item.changes}
        return {name: [before[name], after[name]] for name in item.changes if before[name] != after[name]}
    return {}
