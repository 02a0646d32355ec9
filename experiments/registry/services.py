"""Writes for the model registry: registered models, versions, tags and aliases.

``@champion`` is not set here: it follows the benchmark's champion and moves only through the
promotion gate (``champion.py``). Every function owns its transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from experiments.benchmarks.models import Benchmark
from experiments.registry import selectors
from experiments.registry.models import (
    CHAMPION_ALIAS,
    MAX_ALIAS_LENGTH,
    MAX_MODEL_NAME_LENGTH,
    MAX_TAG_KEY_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    ModelAlias,
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
)
from experiments.tracking.models import Run
from tickets.models import Project


class AlreadyExists(ValidationError):
    """A name or alias that is taken (MLflow's RESOURCE_ALREADY_EXISTS)."""


CHAMPION_MOVES_THROUGH_THE_GATE = (
    "@champion is the champion of benchmark {name} and moves only through the promotion gate: a lead sets it "
    "(client.set_registered_model_alias(name, 'champion', version)) or promotes a run in AgileML."
)


def validate_model_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A registered model needs a name."})
    if len(name) > MAX_MODEL_NAME_LENGTH:
        raise ValidationError({"name": f"Model names have at most {MAX_MODEL_NAME_LENGTH} characters."})
    if "/" in name or ":" in name or any(ord(c) < 32 for c in name):
        raise ValidationError(
            {"name": f"Invalid model name {name!r}: names cannot contain '/', ':' or control characters."}
        )
    return name


_ALIAS = re.compile(r"^[\w\-]+$")


def validate_alias(alias: str) -> str:
    alias = (alias or "").strip()
    if not alias or len(alias) > MAX_ALIAS_LENGTH or not _ALIAS.match(alias):
        raise ValidationError(
            {"alias": f"Invalid alias {alias!r}: use up to {MAX_ALIAS_LENGTH} letters, digits, '_' or '-'."}
        )
    if alias.lower() == "latest" or re.fullmatch(r"[vV]\d+", alias):
        raise ValidationError({"alias": f"The alias {alias!r} is reserved by MLflow."})
    return alias


def _validate_tag(key: str, value: str) -> tuple[str, str]:
    key = (key or "").strip()
    if not key or len(key) > MAX_TAG_KEY_LENGTH:
        raise ValidationError({"key": f"A tag needs a key of at most {MAX_TAG_KEY_LENGTH} characters."})
    if len(value or "") > MAX_TAG_VALUE_LENGTH:
        raise ValidationError({"value": f"Tag {key!r} has a value over {MAX_TAG_VALUE_LENGTH} characters."})
    return key, value or ""


# --- Registered models ----------------------------------------------------------------------
def registered_model_create(
    *,
    project: Project,
    name: str,
    user: AbstractBaseUser | None,
    description: str = "",
    tags: list[tuple[str, str]] | None = None,
) -> RegisteredModel:
    """A new registered model of ``project``; linked to the project's benchmark of the same name."""
    name = validate_model_name(name)
    pairs = [_validate_tag(k, v) for k, v in tags or []]
    benchmark = selectors.benchmark_named(project=project, name=name)
    try:
        with transaction.atomic():
            model = RegisteredModel.objects.create(
                project=project, name=name, description=description or "", benchmark=benchmark, created_by=user
            )
            RegisteredModelTag.objects.bulk_create(
                [RegisteredModelTag(registered_model=model, key=k, value=v) for k, v in dict(pairs).items()]
            )
    except IntegrityError:
        raise AlreadyExists({"name": f"Registered model {name!r} already exists in {project.key}."}) from None
    model.project = project
    return model


def registered_model_for_benchmark(*, benchmark: Benchmark, user: AbstractBaseUser | None) -> RegisteredModel:
    """The benchmark's registered model (same name), made on first use."""
    model = RegisteredModel.objects.filter(benchmark=benchmark).first()
    if model is not None:
        return model
    model = RegisteredModel.objects.filter(project_id=benchmark.project_id, name=benchmark.name).first()
    if model is not None:
        RegisteredModel.objects.filter(pk=model.pk).update(benchmark=benchmark)
        model.benchmark = benchmark
        return model
    return registered_model_create(project=benchmark.project, name=benchmark.name, user=user)


def registered_model_update(*, model: RegisteredModel, description: str) -> RegisteredModel:
    model.description = description or ""
    model.save(update_fields=["description", "updated_at"])
    return model


def registered_model_rename(*, model: RegisteredModel, new_name: str) -> RegisteredModel:
    """A new name in the same project. A benchmark's model keeps the benchmark's name."""
    new_name = validate_model_name(new_name)
    if model.benchmark_id and new_name != model.name:
        raise ValidationError(
            {"new_name": f"{model.name!r} is the registered model of benchmark {model.name}; it keeps its name."}
        )
    model.name = new_name
    try:
        with transaction.atomic():
            model.save(update_fields=["name", "updated_at"])
    except IntegrityError:
        raise AlreadyExists(
            {"new_name": f"Registered model {new_name!r} already exists in {model.project.key}."}
        ) from None
    return model


def registered_model_delete(*, model: RegisteredModel) -> None:
    """Delete a model with its versions; a benchmark's model stays (its champion history names it)."""
    if model.benchmark_id:
        raise ValidationError(
            {"name": f"{model.name!r} is the registered model of benchmark {model.name} and cannot be deleted."}
        )
    model.delete()


def registered_model_set_tag(*, model: RegisteredModel, key: str, value: str) -> None:
    key, value = _validate_tag(key, value)
    RegisteredModelTag.objects.update_or_create(registered_model=model, key=key, defaults={"value": value})
    model.save(update_fields=["updated_at"])


def registered_model_delete_tag(*, model: RegisteredModel, key: str) -> None:
    deleted, _ = RegisteredModelTag.objects.filter(registered_model=model, key=key).delete()
    if not deleted:
        raise ValidationError({"key": f"Registered model {model.name!r} has no tag {key!r}."})


# --- Versions -------------------------------------------------------------------------------
@dataclass(frozen=True)
class VersionSource:
    """Where a version's files are: a folder of a run's artifacts, or a logged model id."""

    source: str
    run: Run | None
    artifact_path: str = ""
    model_id: str = ""


def model_version_create(
    *,
    model: RegisteredModel,
    origin: VersionSource,
    user: AbstractBaseUser | None,
    description: str = "",
    tags: list[tuple[str, str]] | None = None,
) -> ModelVersion:
    """The next version of ``model``. The run must be of the model's project and hold an MLflow
    model (an MLmodel file) in the folder; the number is taken under a row lock, so two
    registrations at once get two numbers."""
    pairs = [_validate_tag(k, v) for k, v in tags or []]
    if origin.run is not None:
        if origin.run.project_id != model.project_id:
            raise ValidationError(
                {"run_id": f"Run {origin.run.uuid} is in another project than registered model {model.name!r}."}
            )
        if not origin.model_id and not selectors.run_has_model(run=origin.run, folder=origin.artifact_path):
            where = origin.artifact_path or "the artifact root"
            raise ValidationError(
                {
                    "source": f"Run {origin.run.uuid} has no MLflow model at {where!r} (no MLmodel file there). Save "
                    "the model with mlflow.<flavor>.save_model(model, path) and upload the folder with "
                    "mlflow.log_artifacts(path, artifact_path='model'), then register runs:/<run id>/model."
                }
            )
    with transaction.atomic():
        RegisteredModel.objects.select_for_update().filter(pk=model.pk).update(last_version=F("last_version") + 1)
        number = RegisteredModel.objects.values_list("last_version", flat=True).get(pk=model.pk)
        version = ModelVersion.objects.create(
            registered_model=model,
            version=number,
            source=origin.source,
            run=origin.run,
            artifact_path=origin.artifact_path,
            model_id=origin.model_id,
            description=description or "",
            created_by=user,
        )
        ModelVersionTag.objects.bulk_create(
            [ModelVersionTag(model_version=version, key=k, value=v) for k, v in dict(pairs).items()]
        )
    version.registered_model = model
    return version


def model_version_update(*, version: ModelVersion, description: str) -> ModelVersion:
    version.description = description or ""
    version.save(update_fields=["description", "updated_at"])
    return version


def model_version_delete(*, version: ModelVersion) -> None:
    """Delete a version; the one ``@champion`` points to stays until another is promoted."""
    if ModelAlias.objects.filter(model_version=version, alias=CHAMPION_ALIAS).exists():
        raise ValidationError(
            {
                "version": f"Version {version.version} of {version.registered_model.name!r} is @champion; promote "
                "another version first."
            }
        )
    version.delete()


def model_version_set_tag(*, version: ModelVersion, key: str, value: str) -> None:
    key, value = _validate_tag(key, value)
    ModelVersionTag.objects.update_or_create(model_version=version, key=key, defaults={"value": value})


def model_version_delete_tag(*, version: ModelVersion, key: str) -> None:
    deleted, _ = ModelVersionTag.objects.filter(model_version=version, key=key).delete()
    if not deleted:
        raise ValidationError(
            {"key": f"Version {version.version} of {version.registered_model.name!r} has no tag {key!r}."}
        )


# --- Aliases --------------------------------------------------------------------------------
def _refuse_champion(model: RegisteredModel, alias: str) -> None:
    if alias.lower() == CHAMPION_ALIAS:
        raise ValidationError({"alias": CHAMPION_MOVES_THROUGH_THE_GATE.format(name=model.name)})


def alias_set(*, model: RegisteredModel, alias: str, version: ModelVersion, user: AbstractBaseUser | None) -> None:
    """Point ``@alias`` (anything but ``champion``: see ``champion.champion_alias_set``) at ``version``."""
    alias = validate_alias(alias)
    _refuse_champion(model, alias)
    ModelAlias.objects.update_or_create(
        registered_model=model, alias=alias, defaults={"model_version": version, "set_by": user}
    )


def alias_delete(*, model: RegisteredModel, alias: str) -> None:
    """Remove ``@alias``. ``@champion`` cannot be removed: the benchmark always has its champion."""
    _refuse_champion(model, alias)
    deleted, _ = ModelAlias.objects.filter(registered_model=model, alias=alias).delete()
    if not deleted:
        raise ValidationError({"alias": f"Registered model {model.name!r} has no alias {alias!r}."})


def champion_alias_move(*, model: RegisteredModel, version: ModelVersion | None, user: AbstractBaseUser | None) -> None:
    """Only for the promotion gate: ``@champion`` → ``version``, or removed when the champion has no model."""
    if version is None:
        ModelAlias.objects.filter(registered_model=model, alias=CHAMPION_ALIAS).delete()
        return
    ModelAlias.objects.update_or_create(
        registered_model=model, alias=CHAMPION_ALIAS, defaults={"model_version": version, "set_by": user}
    )
