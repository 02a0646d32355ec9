"""Writes for projects."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tickets.models import (
    Membership,
    Project,
    Role,
)
from tickets.versions import project_touch


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
        project_touch(project_id=project.pk)
    return project
