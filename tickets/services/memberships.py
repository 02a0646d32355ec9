"""Writes for memberships and roles; a project always keeps at least one lead."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tickets.models import (
    Membership,
    Project,
    Role,
)

User = get_user_model()


def membership_add(*, project: Project, username: str, role: Role) -> Membership:
    """Add an existing user to ``project``."""
    try:
        user = User.objects.get(username=username)
    except User.DoesNotExist:
        raise ValidationError({"username": f"There is no user named {username!r}."}) from None
    try:
        with transaction.atomic():
            return Membership.objects.create(project=project, user=user, role=Role(role))
    except IntegrityError:
        raise ValidationError({"username": f"{username} is already a member of {project.key}."}) from None


def _lock_leads(project: Project) -> list[int]:
    """Lock the project's lead memberships so two requests cannot each remove a lead."""
    return list(
        Membership.objects.select_for_update()
        .filter(project=project, role=Role.LEAD)
        .order_by("id")
        .values_list("id", flat=True)
    )


@transaction.atomic
def membership_change_role(*, membership: Membership, role: Role) -> Membership:
    role = Role(role)
    if membership.role == Role.LEAD and role != Role.LEAD:
        leads = _lock_leads(membership.project)
        if leads == [membership.id]:
            raise ValidationError({"role": "A project needs at least one lead: make someone else lead first."})
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    if membership.role == Role.LEAD:
        leads = _lock_leads(membership.project)
        if leads == [membership.id]:
            raise ValidationError({"username": "The last lead cannot be removed: make someone else lead first."})
    membership.delete()
