"""Access to runs, built on ``tickets.access.project_for_user``.

Outsiders get 404 (they must not learn that a run exists) and members whose role is
too low get 403, exactly as for projects.
"""

from __future__ import annotations

import re

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404

from experiments.tracking.models import Run
from tickets.access import project_for_user
from tickets.models import Role

_UUID = re.compile(r"^[0-9a-f]{32}$")


def run_lookup(run_ref: str | int) -> Run:
    """The run with integer id ``run_ref`` or MLflow run id (32 hex digits); no access check."""
    text = str(run_ref).strip().lower()
    if text.isdigit():
        lookup = {"pk": int(text)}
    elif _UUID.match(text):
        lookup = {"uuid": text}
    else:
        raise Http404(f"{run_ref!r} is not a run id: use the number or the 32-character MLflow run id.")
    try:
        return Run.objects.select_related("project").get(**lookup)
    except Run.DoesNotExist:
        raise Http404(f"There is no run {run_ref}.") from None


def run_for_user(
    user: AbstractBaseUser | AnonymousUser,
    run_ref: str | int,
    *,
    need: Role = Role.STAKEHOLDER,
    project_key: str | None = None,
) -> Run:
    """Run ``run_ref`` if ``user`` holds at least ``need`` in its project (404 / 403 otherwise).

    With ``project_key`` the run must also belong to that project (pages nest runs under
    ``/p/<key>/``). The project, with the caller's role as ``project.role``, is attached.
    """
    if not user.is_authenticated:
        raise Http404("No such run.")
    run = run_lookup(run_ref)
    if project_key is not None and run.project.key != project_key:
        # Check the URL's project first so a member of it learns nothing about other projects.
        project_for_user(user, project_key)
        raise Http404(f"There is no run {run_ref} in {project_key}.")
    run.project = project_for_user(user, run.project.key, need=need)
    return run
