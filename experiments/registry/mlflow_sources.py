"""What the client names when it registers: the project of a new model, and the files of a new
version (``runs:/<run id>/<path>``, the run's ``mlflow-artifacts:/`` folder, or ``models:/m-...``)."""

from __future__ import annotations

import re

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from experiments.registry import selectors
from experiments.registry.services import AlreadyExists, VersionSource
from experiments.tracking.access import run_for_user
from experiments.tracking.mlflow_protocol import ARTIFACTS_DIR, NO_SUCH_RUN, MlflowError
from experiments.tracking.models import Run
from tickets.access import NOT_FOUND, project_for_user
from tickets.models import Project, Role

# The tag that names the project of a new registered model, like ``agileml.ticket`` names a run's ticket.
TAG_PROJECT = "agileml.project"

_RUNS = re.compile(r"^runs:/(?P<run>[^/]+)(?:/(?P<path>.*))?$")
_ARTIFACTS = re.compile(
    rf"^mlflow-artifacts:/+(?P<project>\d+)/(?P<run>[0-9a-fA-F]{{32}})/{ARTIFACTS_DIR}(?:/(?P<path>.*))?$"
)
_LOGGED = re.compile(r"^models:/(?P<id>m-[0-9A-Za-z]+)(?:/.*)?$")


def project_for_new_model(user: AbstractBaseUser, name: str, tags: list[tuple[str, str]]) -> Project:
    """The project a new registered model goes to: the ``agileml.project`` tag's; else, when the name
    is already registered in one of the caller's projects, that is reported (the client then adds a
    version); else the project with a benchmark of that name, or the only project the caller logs to."""
    key = dict(tags).get(TAG_PROJECT, "").strip()
    if key:
        return project_for_user(user, key, need=Role.ENGINEER)
    existing = selectors.project_keys_with_model(user=user, name=name)
    if existing:
        raise AlreadyExists({"name": f"Registered model {name!r} already exists in {', '.join(existing)}."})
    keys = selectors.projects_for_new_model(user=user, name=name)
    if len(keys) == 1:
        return project_for_user(user, keys[0], need=Role.ENGINEER)
    if not keys:
        if user.is_authenticated and user.memberships.exists():
            raise PermissionDenied("Stakeholders have read-only access; registering a model needs an engineer or lead.")
        raise Http404(NOT_FOUND)
    raise ValidationError(
        {
            "name": f"You log to several projects ({', '.join(keys)}); say which one gets {name!r} with the tag "
            f"{TAG_PROJECT}: MlflowClient().create_registered_model({name!r}, tags={{'{TAG_PROJECT}': '{keys[0]}'}})."
        }
    )


def _run(user: AbstractBaseUser, ref: str) -> Run:
    try:
        return run_for_user(user, ref, need=Role.ENGINEER)
    except Http404:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", NO_SUCH_RUN) from None


def version_source(user: AbstractBaseUser, *, source: str, run_id: str, model_id: str) -> VersionSource:
    """Where the new version's files are, checked against the run the client names."""
    path = ""
    logged = _LOGGED.match(source)
    runs = _RUNS.match(source)
    artifacts = _ARTIFACTS.match(source)
    if logged:
        # A logged model (``m-...``) is kept as given; its run, when named, links the version to its evaluations.
        run = _run(user, run_id) if run_id else None
        return VersionSource(source=source, run=run, model_id=model_id or logged.group("id"))
    if runs:
        run = _run(user, runs.group("run"))
        path = (runs.group("path") or "").strip("/")
    elif artifacts:
        run = _run(user, artifacts.group("run"))
        if str(run.project_id) != artifacts.group("project"):
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", NO_SUCH_RUN)
        path = (artifacts.group("path") or "").strip("/")
    else:
        raise ValidationError(
            {
                "source": f"Cannot register {source!r}: AgileML registers a run's model folder. Use "
                "mlflow.register_model('runs:/<run id>/model', name) after uploading the folder to the run."
            }
        )
    if run_id and run_id.lower() != run.uuid:
        raise ValidationError({"run_id": f"The source names run {run.uuid}, but run_id is {run_id}."})
    return VersionSource(source=source, run=run, artifact_path=path, model_id=model_id)
