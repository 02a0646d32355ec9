"""Access to share links and demo material, built on ``tickets.access.project_for_user``.

Outsiders get 404 and members whose role is too low 403, as everywhere. Share links
are a lead's business (``need=Role.LEAD`` by default); demo material is read by every
member and changed by engineers and leads.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404

from experiments.dashboards.models import DemoMaterial, ShareLink
from tickets.access import project_for_user
from tickets.models import Role


def share_link_for_user(
    user: AbstractBaseUser | AnonymousUser,
    key: str,
    link_id: int,
    *,
    need: Role = Role.LEAD,
) -> ShareLink:
    """Share link ``link_id`` of project ``key`` if ``user`` holds at least ``need`` there."""
    project = project_for_user(user, key, need=need)
    try:
        link = ShareLink.objects.select_related("sprint", "created_by", "revoked_by").get(project=project, pk=link_id)
    except ShareLink.DoesNotExist:
        raise Http404(f"There is no share link {link_id} in {project.key}.") from None
    link.project = project
    return link


def material_for_user(
    user: AbstractBaseUser | AnonymousUser,
    key: str,
    material_id: int,
    *,
    need: Role = Role.STAKEHOLDER,
) -> DemoMaterial:
    """Demo material ``material_id`` on a ticket of project ``key`` if ``user`` holds at least ``need``."""
    project = project_for_user(user, key, need=need)
    try:
        material = DemoMaterial.objects.select_related("ticket").get(ticket__project=project, pk=material_id)
    except DemoMaterial.DoesNotExist:
        raise Http404(f"There is no demo material {material_id} in {project.key}.") from None
    material.ticket.project = project
    return material
