"""Writes for planning: projects and memberships (tickets, sprints and epics join later)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tickets.models import Membership, Project, Role

User = get_user_model()


@transaction.atomic
def project_create(*, key: str, name: str, description: str = "", lead: AbstractBaseUser) -> Project:
    """Create a project with ``lead`` as its first lead."""
    project = Project(key=key, name=name, description=description)
    project.full_clean()
    try:
        with transaction.atomic():
            project.save()
    except IntegrityError:
        raise ValidationError({"key": f"A project with key {key} already exists."}) from None
    Membership.objects.create(project=project, user=lead, role=Role.LEAD)
    return project


def project_update(*, project: Project, name: str | None = None, description: str | None = None) -> Project:
    fields = []
    if name is not None:
        project.name = name
        fields.append("name")
    if description is not None:
        project.description = description
        fields.append("description")
    if fields:
        project.full_clean(exclude=["key"])
        project.save(update_fields=fields)
    return project


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
