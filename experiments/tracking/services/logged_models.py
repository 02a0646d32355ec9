"""Writes for MLflow 3 logged models: create, tag, finalize, soft delete, and store their files.

A logged model's files live under ``MEDIA_ROOT/models/<model_id>/<path>``; when its ``MLmodel``
file arrives, the flavors and the signature are read from it so pages need not open files.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import yaml
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from experiments.tracking.models import (
    MAX_RUN_NAME_LENGTH,
    Experiment,
    LoggedModel,
    LoggedModelFile,
    LoggedModelParam,
    LoggedModelStatus,
    LoggedModelTag,
    Run,
)
from experiments.tracking.services.artifacts import validate_artifact_path
from experiments.tracking.services.validation import validate_params, validate_tags
from tickets.models import Project

logger = logging.getLogger(__name__)

MLMODEL_FILE = "MLmodel"


def logged_model_root(model: LoggedModel) -> Path:
    return Path(settings.MEDIA_ROOT) / "models" / model.model_id


def logged_model_file(model: LoggedModel, path: str) -> Path:
    return logged_model_root(model).joinpath(*validate_artifact_path(path).split("/"))


def _validate_name(name: str) -> str:
    if len(name) > MAX_RUN_NAME_LENGTH:
        raise ValidationError({"name": f"A model name may have at most {MAX_RUN_NAME_LENGTH} characters."})
    if "/" in name or ":" in name:
        raise ValidationError({"name": f"Model name {name!r} must not contain '/' or ':'."})
    return name


@transaction.atomic
def logged_model_create(
    *,
    project: Project,
    experiment: Experiment | None,
    user: AbstractBaseUser | None,
    name: str,
    run: Run | None = None,
    model_type: str = "",
    tags: Sequence[tuple[str, str]] = (),
    params: Sequence[tuple[str, str]] = (),
) -> LoggedModel:
    """A new logged model in ``project`` (pending until finalized), made by ``run`` if given."""
    if run is not None and run.project_id != project.pk:
        raise ValidationError({"source_run_id": f"Run {run.uuid} is not in this experiment's project."})
    tag_map = validate_tags(tags)
    param_map = validate_params(params)
    model = LoggedModel(
        project=project,
        experiment=experiment,
        run=run,
        model_type=model_type[:250],
        created_by=user,
    )
    model.name = _validate_name(name) or f"model-{model.model_id[2:10]}"
    model.save()
    LoggedModelTag.objects.bulk_create([LoggedModelTag(model=model, key=k, value=v) for k, v in tag_map.items()])
    LoggedModelParam.objects.bulk_create([LoggedModelParam(model=model, key=k, value=v) for k, v in param_map.items()])
    return model


def logged_model_finalize(*, model: LoggedModel, status: LoggedModelStatus, message: str = "") -> LoggedModel:
    model.status = LoggedModelStatus(status)
    model.status_message = message
    model.save(update_fields=["status", "status_message", "updated_at"])
    return model


def logged_model_set_tags(*, model: LoggedModel, tags: Sequence[tuple[str, str]]) -> None:
    tag_map = validate_tags(tags)
    LoggedModelTag.objects.bulk_create(
        [LoggedModelTag(model=model, key=k, value=v) for k, v in tag_map.items()],
        update_conflicts=True,
        unique_fields=["model", "key"],
        update_fields=["value"],
    )


def logged_model_delete_tag(*, model: LoggedModel, key: str) -> None:
    LoggedModelTag.objects.filter(model=model, key=key).delete()


@transaction.atomic
def logged_model_log_params(*, model: LoggedModel, params: Sequence[tuple[str, str]]) -> None:
    """Params of a model; as with runs, a key's value never changes once logged."""
    param_map = validate_params(params)
    existing = dict(LoggedModelParam.objects.filter(model=model, key__in=list(param_map)).values_list("key", "value"))
    for key, value in param_map.items():
        if key in existing and existing[key] != value:
            raise ValidationError(
                {"params": f"Param {key!r} of model {model.model_id} is already {existing[key]!r}; it cannot change."}
            )
    LoggedModelParam.objects.bulk_create(
        [LoggedModelParam(model=model, key=k, value=v) for k, v in param_map.items() if k not in existing]
    )


def logged_model_delete(*, model: LoggedModel) -> None:
    """MLflow's delete of a logged model is a soft delete: it is hidden, its files are kept."""
    model.deleted_at = timezone.now()
    model.save(update_fields=["deleted_at", "updated_at"])


def _read_mlmodel(file: Path) -> tuple[list[str], dict]:
    """Flavors and signature of an ``MLmodel`` file; nothing when it cannot be read (it is still stored)."""
    try:
        content = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        logger.warning("unreadable MLmodel file at %s", file)
        return [], {}
    if not isinstance(content, dict):
        return [], {}
    flavors = content.get("flavors")
    signature = content.get("signature")
    return (
        sorted(str(f) for f in flavors) if isinstance(flavors, dict) else [],
        signature if isinstance(signature, dict) else {},
    )


def logged_model_file_save(*, model: LoggedModel, path: str, stream: BinaryIO, chunk_size: int = 1024 * 1024) -> None:
    """Store ``stream`` as file ``path`` of ``model``: written aside, moved into place when complete."""
    limit = settings.ARTIFACT_MAX_BYTES
    target = logged_model_file(model, path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ValidationError(
            {"path": f"Model file path {path!r} needs a folder where a file of this model is."}
        ) from None
    if target.is_dir():
        raise ValidationError({"path": f"Model file path {path!r} is a folder of this model."})
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(chunk_size):
                size += len(chunk)
                if size > limit:
                    raise ValidationError(
                        {"size": f"Model file {path!r} is larger than {limit:,} bytes (ARTIFACT_MAX_BYTES)."}
                    )
                out.write(chunk)
        with transaction.atomic():
            old = LoggedModelFile.objects.filter(model=model, path=path).values_list("size", flat=True).first()
            LoggedModelFile.objects.update_or_create(model=model, path=path, defaults={"size": size})
            changes: dict = {"size": F("size") + size - (old or 0)}
            if path == MLMODEL_FILE:
                changes["flavors"], changes["signature"] = _read_mlmodel(Path(tmp_name))
            LoggedModel.objects.filter(pk=model.pk).update(**changes)
            os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
