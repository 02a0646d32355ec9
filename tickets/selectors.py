"""Reads for planning. Each selector owns its joins so callers never trigger N+1 queries."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, QuerySet

from tickets.models import Membership, Project


def memberships_for_user(*, user: AbstractBaseUser) -> QuerySet[Membership]:
    """The user's memberships with their projects and member counts: one query."""
    return (
        Membership.objects.filter(user=user)
        .select_related("project")
        .annotate(member_count=Count("project__memberships"))
        .order_by("project__key")
    )


def memberships_of_project(*, project: Project) -> QuerySet[Membership]:
    return Membership.objects.filter(project=project).select_related("user").order_by("user__username")


def membership_get(*, project: Project, username: str) -> Membership:
    return Membership.objects.select_related("user", "project").get(project=project, user__username=username)
