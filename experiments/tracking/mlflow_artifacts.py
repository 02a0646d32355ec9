"""MLflow's artifact endpoints: a run's files uploaded (PUT), downloaded (GET) and listed, under
``<experiment id>/<run id>/artifacts/<path>``."""

from __future__ import annotations

import functools
import logging
import posixpath
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from experiments.tracking import model_selectors, selectors, services
from experiments.tracking.access import logged_model_for_user, run_for_user
from experiments.tracking.mlflow_protocol import (
    ARTIFACTS_DIR,
    NO_SUCH_RUN,
    MlflowError,
    authenticate,
    translate_error,
)
from experiments.tracking.models import LoggedModel, Run
from tickets.access import project_for_user
from tickets.models import Role

logger = logging.getLogger(__name__)


def _artifact_target(user: AbstractBaseUser, path: str, *, need: Role) -> tuple[Run | LoggedModel, str]:
    """``<experiment id>/<run id>/artifacts/<path>`` → (run, path), or
    ``<experiment id>/models/<model id>/artifacts/<path>`` → (logged model, path)."""
    parts = path.strip("/").split("/", 3)
    if len(parts) >= 3 and parts[1] == "models":
        return _model_target(user, path, need=need)
    if len(parts) < 3 or parts[2] != ARTIFACTS_DIR:
        raise MlflowError(
            "RESOURCE_DOES_NOT_EXIST", f"Artifact path {path!r} is not <experiment id>/<run id>/artifacts/<path>."
        )
    try:
        run = run_for_user(user, parts[1], need=need)
    except Http404:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", NO_SUCH_RUN) from None
    if run.experiment_mlflow_id != parts[0]:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Run {parts[1]} is not in experiment {parts[0]}.")
    return run, parts[3] if len(parts) == 4 else ""


def _in_scope(user: AbstractBaseUser, path: str, key: str | None) -> str:
    """Under the project-scoped URI the experiment in the path must be one of project ``key``."""
    if key is None:
        return path
    try:
        project = project_for_user(user, key)
    except Http404:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", NO_SUCH_RUN) from None
    if path.strip("/").split("/", 1)[0].split("-", 1)[0] != str(project.pk):
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", NO_SUCH_RUN)
    return path


def _model_target(user: AbstractBaseUser, path: str, *, need: Role) -> tuple[LoggedModel, str]:
    parts = path.strip("/").split("/", 4)
    if len(parts) < 4 or parts[3] != ARTIFACTS_DIR:
        raise MlflowError(
            "RESOURCE_DOES_NOT_EXIST",
            f"Artifact path {path!r} is not <experiment id>/models/<model id>/artifacts/<path>.",
        )
    try:
        model = logged_model_for_user(user, parts[2], need=need)
    except Http404:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", NO_SUCH_RUN) from None
    if model.experiment_mlflow_id != parts[0]:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Model {parts[2]} is not in experiment {parts[0]}.")
    return model, parts[4] if len(parts) == 5 else ""


def _artifact_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except (MlflowError, ValidationError, Http404, PermissionDenied) as error:
            translated = translate_error(error)
            if isinstance(error, ValidationError) and "size" in getattr(error, "message_dict", {}):
                translated.status = 413
            return translated.response()

    return csrf_exempt(wrapped)


@_artifact_errors
def artifact(request: HttpRequest, path: str, key: str | None = None) -> HttpResponse:
    """PUT uploads a run's artifact (or a logged model's file); GET downloads it."""
    user = authenticate(request)
    path = _in_scope(user, path, key)
    if request.method == "PUT":
        owner, relative = _artifact_target(user, path, need=Role.ENGINEER)
        length = request.META.get("CONTENT_LENGTH")
        if length and length.isascii() and length.isdigit() and int(length) > settings.ARTIFACT_MAX_BYTES:
            raise MlflowError(
                "INVALID_PARAMETER_VALUE",
                f"Artifact {relative!r} has {int(length):,} bytes; the limit is {settings.ARTIFACT_MAX_BYTES:,} "
                "bytes (ARTIFACT_MAX_BYTES).",
                status=413,
            )
        if isinstance(owner, LoggedModel):
            services.validate_artifact_path(relative)
            services.logged_model_file_save(model=owner, path=relative, stream=request)
        else:
            services.artifact_save(run=owner, path=relative, stream=request)
        return JsonResponse({})
    if request.method == "GET":
        owner, relative = _artifact_target(user, path, need=Role.STAKEHOLDER)
        if isinstance(owner, LoggedModel):
            return model_file_response(owner, relative)
        return artifact_download_response(owner, relative)
    raise MlflowError("BAD_REQUEST", "Use PUT to upload or GET to download an artifact.", status=405)


def artifact_download_response(run: Run, relative: str) -> FileResponse:
    services.validate_artifact_path(relative)
    if not selectors.artifact_exists(run=run, path=relative):
        raise Http404(f"Run {run.uuid} has no artifact {relative!r}.")
    file_path = services.artifact_file(run, relative)
    if not file_path.is_file():
        logger.error("artifact %s of run %s is in the database but not on disk at %s", relative, run.uuid, file_path)
        raise Http404(f"The file of artifact {relative!r} is missing.")
    return FileResponse(file_path.open("rb"), as_attachment=True, filename=posixpath.basename(relative))


def model_file_response(model: LoggedModel, relative: str) -> FileResponse:
    services.validate_artifact_path(relative)
    if not model_selectors.model_file_exists(model=model, path=relative):
        raise Http404(f"Logged model {model.model_id} has no file {relative!r}.")
    file_path = services.logged_model_file(model, relative)
    if not file_path.is_file():
        logger.error(
            "file %s of model %s is in the database but not on disk at %s", relative, model.model_id, file_path
        )
        raise Http404(f"The file {relative!r} of the model is missing.")
    return FileResponse(file_path.open("rb"), as_attachment=True, filename=posixpath.basename(relative))


@_artifact_errors
def artifact_list(request: HttpRequest, key: str | None = None) -> HttpResponse:
    """GET ``?path=<experiment id>/<run id>/artifacts[/folder]``: the files and folders directly inside."""
    if request.method != "GET":
        raise MlflowError("BAD_REQUEST", "Use GET to list artifacts.", status=405)
    user = authenticate(request)
    owner, folder = _artifact_target(user, _in_scope(user, request.GET.get("path", ""), key), need=Role.STAKEHOLDER)
    prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
    entries: dict[str, dict] = {}
    if isinstance(owner, LoggedModel):
        sizes = model_selectors.model_file_sizes(model=owner, prefix=prefix)
    else:
        sizes = selectors.artifact_sizes(run=owner, prefix=prefix)
    for item_path, size in sizes:
        rest = item_path[len(prefix) :]
        head, sep, _ = rest.partition("/")
        if sep:
            entries.setdefault(head, {"path": head, "is_dir": True})
        else:
            entries[head] = {"path": head, "is_dir": False, "file_size": size}
    return JsonResponse({"files": [entries[k] for k in sorted(entries)]})
