"""Access to share links and demo material, through the one generic helper
``tickets.access.object_for_user``.

Outsiders get the same 404 whether or not the object exists, and members whose role is too low
403, as everywhere. Share links are a lead's business (``need=Role.LEAD`` by default); demo
material is read by every member and changed by engineers and leads. A share link's token opens
its demo page without an account: that check is ``experiments.dashboards.sharing``.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from experiments.dashboards.models import DemoMaterial, ShareLink
from tickets.access import object_for_user
from tickets.models import Role


def share_link_for_user(
    user: AbstractBaseUser | AnonymousUser,
    key: str,
    link_id: int | str,
    *,
    need: Role = Role.LEAD,
) -> ShareLink:
    """Share link ``link_id`` of project ``key`` if ``user`` holds at least ``need`` there."""
    return object_for_user(
        user,
        ShareLink.objects.select_related("sprint", "created_by", "revoked_by"),
        link_id,
        need=need,
        project_key=key,
    )


def material_for_user(
    user: AbstractBaseUser | AnonymousUser,
    key: str,
    material_id: int | str,
    *,
    need: Role = Role.STAKEHOLDER,
) -> DemoMaterial:
    """Demo material ``material_id`` on a ticket of project ``key`` if ``user`` holds at least ``need``."""
    return object_for_user(user, DemoMaterial, material_id, need=need, project_key=key, project_path="ticket__project")
