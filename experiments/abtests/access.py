"""Access to online tests, through the one generic helper ``tickets.access.object_for_user``.

Roles: stakeholders read (and may ask for assignments, a read); engineers create drafts and send
events; leads start, stop and ship. Outsiders get the same 404 whether or not the test exists.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.http import Http404

from experiments.abtests.models import OnlineTest
from experiments.abtests.services import design_cache_key
from tickets.access import NOT_FOUND, object_for_user, parse_id, project_by_id_for_user
from tickets.models import Role

# Web processes keep a test's design this long; a start or stop clears it in the process that made it.
DESIGN_CACHE_SECONDS = 5


def onlinetest_for_user(
    user: AbstractBaseUser | AnonymousUser,
    test_id: int | str,
    *,
    need: Role = Role.STAKEHOLDER,
    project_key: str | None = None,
) -> OnlineTest:
    """Online test ``test_id`` if ``user`` holds at least ``need`` in its project (404 / 403 otherwise).

    The benchmark is joined and the project, with the caller's role, attached to it.
    """
    return object_for_user(
        user,
        OnlineTest.objects.select_related("benchmark"),
        test_id,
        need=need,
        project_key=project_key,
        project_path="benchmark__project",
    )


def assignment_design_for_user(user: AbstractBaseUser | AnonymousUser, test_id: int | str) -> dict:
    """What assignment needs (``project_id``, ``state``, ``salt``, ``arms``, ``decision_variant``), for a
    member of the test's project. The design and the caller's membership are cached for a few seconds, so
    a call usually costs only the token's query."""
    number = parse_id(test_id)
    if not user.is_authenticated:
        raise Http404(NOT_FOUND)
    key = design_cache_key(number)
    design = cache.get(key)
    if design is None:
        row = (
            OnlineTest.objects.filter(pk=number)
            .values("benchmark__project_id", "state", "salt", "arms", "decision", "decision_variant")
            .first()
        )
        if row is None:
            raise Http404(NOT_FOUND)
        design = {
            "id": number,
            "project_id": row["benchmark__project_id"],
            "state": row["state"],
            "salt": row["salt"],
            "arms": [(arm["variant"], arm["weight"]) for arm in row["arms"]],
            "decision": row["decision"],
            "decision_variant": row["decision_variant"],
        }
        cache.set(key, design, DESIGN_CACHE_SECONDS)
    # Membership is checked once per caller and project per DESIGN_CACHE_SECONDS: an assignment reveals
    # only a variant name, and production calls it at request rate.
    member_key = f"abtests:member:{user.pk}:{design['project_id']}"
    if not cache.get(member_key):
        project_by_id_for_user(user, design["project_id"])
        cache.set(member_key, True, DESIGN_CACHE_SECONDS)
    return design
