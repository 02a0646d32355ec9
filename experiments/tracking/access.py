"""Access to runs, through the one generic helper ``tickets.access.object_for_user``.

Outsiders get the same 404 whether or not a run exists; members whose role is too low get 403.
"""

from __future__ import annotations

import re

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from experiments.tracking.models import LoggedModel, Run
from tickets.access import object_for_user
from tickets.models import Role

_UUID = re.compile(r"^[0-9a-f]{32}$")


def run_for_user(
    user: AbstractBaseUser | AnonymousUser,
    run_ref: str | int,
    *,
    need: Role = Role.STAKEHOLDER,
    project_key: str | None = None,
    queryset: QuerySet[Run] | None = None,
) -> Run:
    """Run ``run_ref`` (its number or its 32-hex MLflow run id) if ``user`` holds at least ``need`` in its project.

    With ``project_key`` the run must also belong to that project (pages nest runs under
    ``/p/<key>/``). The project, with the caller's role as ``project.role``, is attached; so is
    the ticket's, when ``queryset`` joins it.
    """
    text = str(run_ref).strip().lower()
    lookup = "uuid" if _UUID.match(text) else "pk"
    run = object_for_user(
        user,
        queryset if queryset is not None else Run.objects.all(),
        text if lookup == "uuid" else run_ref,
        need=need,
        project_key=project_key,
        lookup=lookup,
    )
    if run.ticket_id and "ticket" in run._state.fields_cache:
        run.ticket.project = run.project
    return run


def logged_model_for_user(
    user: AbstractBaseUser | AnonymousUser, model_id: str, *, need: Role = Role.STAKEHOLDER
) -> LoggedModel:
    """Logged model ``model_id`` (``m-<hex>``) if ``user`` holds at least ``need`` in its project."""
    return object_for_user(
        user, LoggedModel.objects.select_related("run"), str(model_id).strip(), need=need, lookup="model_id"
    )
