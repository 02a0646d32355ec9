"""Writes for the dashboards: share links and their uses, demo material, sprint reviews."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Max

from experiments.dashboards import material as demo_material
from experiments.dashboards.models import DemoMaterial, GoalVerdict, MaterialKind, ShareLink, ShareLinkUse, SprintReview
from experiments.dashboards.sharing import HINT_LENGTH, hash_token, new_token
from tickets import clock
from tickets.models import Project, Sprint, Ticket, TicketKind

SHARE_LINK_MAX_DAYS = 365
LABEL_MAX = 120
USER_AGENT_MAX = 300
MATERIAL_PER_TICKET_MAX = 20


# --- Share links ------------------------------------------------------------------------
def share_link_create(
    *,
    project: Project,
    actor: AbstractBaseUser | None,
    expires_at: datetime.datetime,
    sprint: Sprint | None = None,
    label: str = "",
    token: str | None = None,
) -> tuple[ShareLink, str]:
    """Create a read-only link to the project's demo page (or ``sprint``'s); returns it and its token.

    The token is returned only here: the database keeps its hash. ``token`` is for the demo
    data, which derives a stable one; everyone else gets a fresh random token.
    """
    now = clock.now()
    label = (label or "").strip()
    if len(label) > LABEL_MAX:
        raise ValidationError({"label": f"Keep the label to {LABEL_MAX} characters ({len(label)} given)."})
    if expires_at.tzinfo is None:
        raise ValidationError({"expires_at": "Give the expiry with a time zone."})
    if expires_at <= now:
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    if expires_at > now + datetime.timedelta(days=SHARE_LINK_MAX_DAYS):
        raise ValidationError({"expires_at": f"A share link may last at most {SHARE_LINK_MAX_DAYS} days."})
    if sprint is not None and sprint.project_id != project.pk:
        raise ValidationError({"sprint": f"Sprint {sprint.pk} is not a sprint of {project.key}."})
    token = token or new_token()
    link = ShareLink.objects.create(
        project=project,
        sprint=sprint,
        label=label,
        token_hash=hash_token(token),
        token_hint=token[:HINT_LENGTH],
        created_by=actor,
        created_at=now,
        expires_at=expires_at,
    )
    link.project = project
    return link, token


@transaction.atomic
def share_link_revoke(*, link: ShareLink, actor: AbstractBaseUser | None) -> ShareLink:
    """Revoke ``link`` at once; its page stops opening. A link is revoked only once."""
    now = clock.now()
    changed = ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_by=actor)
    if not changed:
        revoked_at = ShareLink.objects.values_list("revoked_at", flat=True).get(pk=link.pk)
        raise ValidationError({"link": f"Share link {link.pk} was already revoked on {revoked_at:%Y-%m-%d %H:%M}."})
    link.revoked_at, link.revoked_by = now, actor
    return link


def share_link_record_use(*, link: ShareLink, ip_address: str | None, user_agent: str) -> ShareLinkUse:
    """Note that ``link``'s page was opened (who asked, roughly: address and browser)."""
    now = clock.now()
    use = ShareLinkUse.objects.create(
        link=link, at=now, ip_address=ip_address or None, user_agent=(user_agent or "")[:USER_AGENT_MAX]
    )
    ShareLink.objects.filter(pk=link.pk).update(use_count=F("use_count") + 1, last_used_at=now)
    return use


# --- Demo material ----------------------------------------------------------------------
def _check_question(ticket: Ticket) -> None:
    if ticket.kind != TicketKind.QUESTION:
        raise ValidationError({"ticket": f"{ticket.key} is a code ticket; demo material belongs to question tickets."})


def _next_order(ticket: Ticket) -> int:
    found = DemoMaterial.objects.filter(ticket=ticket).aggregate(top=Max("order"), count=Count("id"))
    count = found["count"]
    if count >= MATERIAL_PER_TICKET_MAX:
        raise ValidationError(
            {"ticket": f"{ticket.key} already has {count} pieces of demo material; remove one before adding more."}
        )
    return (found["top"] or 0) + 1


@transaction.atomic
def demo_material_add_image(
    *, ticket: Ticket, actor: AbstractBaseUser | None, data: bytes, filename: str, title: str = ""
) -> DemoMaterial:
    """Attach an image to question ``ticket``; it is validated and re-encoded first."""
    _check_question(ticket)
    title = _title(title)
    image = demo_material.clean_image(data, name=filename or "The file")
    Ticket.objects.select_for_update().filter(pk=ticket.pk).first()
    return DemoMaterial.objects.create(
        ticket=ticket,
        kind=MaterialKind.IMAGE,
        title=title,
        content=image.content,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        size=len(image.content),
        sha256=image.sha256,
        order=_next_order(ticket),
        created_by=actor,
        created_at=clock.now(),
    )


@transaction.atomic
def demo_material_add_note(
    *, ticket: Ticket, actor: AbstractBaseUser | None, text: str | bytes, title: str = "", filename: str = ""
) -> DemoMaterial:
    """Attach a short Markdown note to question ``ticket``."""
    _check_question(ticket)
    title = _title(title)
    note = demo_material.clean_note(text, name=filename or "The note")
    Ticket.objects.select_for_update().filter(pk=ticket.pk).first()
    return DemoMaterial.objects.create(
        ticket=ticket,
        kind=MaterialKind.NOTE,
        title=title,
        note=note,
        size=len(note.encode()),
        order=_next_order(ticket),
        created_by=actor,
        created_at=clock.now(),
    )


def _title(title: str) -> str:
    title = (title or "").strip()
    if len(title) > 200:
        raise ValidationError({"title": f"Keep the caption to 200 characters ({len(title)} given)."})
    return title


def demo_material_delete(*, material: DemoMaterial) -> None:
    material.delete()


# --- Sprint reviews ---------------------------------------------------------------------
def sprint_review_update(
    *,
    sprint: Sprint,
    actor: AbstractBaseUser | None,
    goal_verdict: str,
    summary: str = "",
    next_steps: str = "",
) -> SprintReview:
    """Record the lead's verdict on the sprint goal and the review notes (create or replace)."""
    if goal_verdict and goal_verdict not in GoalVerdict.values:
        raise ValidationError(
            {"goal_verdict": f"{goal_verdict!r} is not one of {', '.join(GoalVerdict.values)} (or empty)."}
        )
    for name, text in (("summary", summary), ("next_steps", next_steps)):
        if len(text or "") > 20_000:
            raise ValidationError({name: "Keep it to 20,000 characters."})
    review, _ = SprintReview.objects.update_or_create(
        sprint=sprint,
        defaults={
            "goal_verdict": goal_verdict or "",
            "summary": (summary or "").strip(),
            "next_steps": (next_steps or "").strip(),
            "updated_by": actor,
            "updated_at": clock.now(),
        },
    )
    return review
