"""Access to registered models and their versions, through the one generic helper
``tickets.access.object_for_user``.

Roles: stakeholders read; engineers and leads register models and versions and set tags,
descriptions and aliases; only leads move ``@champion``, and only through the promotion gate.
Outsiders get the same 404 whether or not a model exists; members whose role is too low get 403.

A registered model's name is unique within its project. Pages name the project in the URL; the
MLflow client names only the model, so the name is looked up among the caller's projects.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.http import Http404

from experiments.registry import selectors
from experiments.registry.models import ModelVersion, RegisteredModel
from tickets.access import NOT_FOUND, object_for_user, parse_id
from tickets.models import Role


def model_for_user(
    user: AbstractBaseUser | AnonymousUser,
    name: str,
    *,
    need: Role = Role.STAKEHOLDER,
    project_key: str | None = None,
) -> RegisteredModel:
    """Registered model ``name`` if ``user`` holds at least ``need`` in its project (404 / 403 otherwise).

    Without ``project_key`` the name is looked up among the caller's projects; a name that more
    than one of them uses is refused with the projects named, rather than guessed.
    """
    if project_key is None:
        keys = selectors.project_keys_with_model(user=user, name=name)
        if not keys:
            raise Http404(NOT_FOUND)
        if len(keys) > 1:
            raise ValidationError(
                {
                    "name": f"Registered model {name!r} exists in several of your projects ({', '.join(keys)}); "
                    "rename one of them on its model page so the name says which you mean."
                }
            )
        project_key = keys[0]
    return object_for_user(
        user,
        RegisteredModel.objects.select_related("benchmark"),
        name,
        need=need,
        project_key=project_key,
        lookup="name",
        missing=f"There is no registered model {name!r} in {project_key}.",
    )


def version_for_user(
    user: AbstractBaseUser | AnonymousUser,
    name: str,
    version: object,
    *,
    need: Role = Role.STAKEHOLDER,
    project_key: str | None = None,
) -> ModelVersion:
    """Version ``version`` of registered model ``name``, checked like the model itself."""
    model = model_for_user(user, name, need=need, project_key=project_key)
    number = parse_id(version)
    found = selectors.version_of_model(model=model, version=number)
    if found is None:
        raise Http404(f"Registered model {model.name!r} has no version {number}.")
    return found
