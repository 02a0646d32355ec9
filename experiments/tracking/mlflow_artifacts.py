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

from experiments.tracking import selectors, services
from experiments.tracking.access import run_for_user
from experiments.tracking.mlflow_protocol import (
    ARTIFACTS_DIR,
    NO_SUCH_RUN,
    MlflowError,
    authenticate,
    translate_error,
)
from experiments.tracking.models import Run
from tickets.models import Role

logger = logging.getLogger(__name__)


def _artifact_target(user: AbstractBaseUser, path: str, *, need: Role) -> tuple[Run, str]:
    """``<experiment id>/<run id>/artifacts/<relative path>`` → (run, relative path)."""
    parts = path.strip("/").split("/", 3)
    if len(parts) < 3 or parts[2] != ARTIFACTS_DIR:
        raise MlflowError(
            "RESOURCE_DOES_NOT_EXIST", f"Artifact path {path!r} is not <experiment id>/<run id>/artifacts/<path>."
        )
    try:
        run = run_for_user(user, parts[1], need=need)
    except Http404:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", NO_SUCH_RUN) from None
    if str(run.project_id) != parts[0]:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Run {parts[1]} is not in experiment {parts[0]}.")
    return run, parts[3] if len(parts) == 4 else ""


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
def artifact(request: HttpRequest, path: str) -> HttpResponse:
    """PUT uploads a run's artifact; GET downloads it."""
    user = authenticate(request)
    if request.method == "PUT":
        run, relative = _artifact_target(user, path, need=Role.ENGINEER)
        length = request.META.get("CONTENT_LENGTH")
        if length and length.isascii() and length.isdigit() and int(length) > settings.ARTIFACT_MAX_BYTES:
            raise MlflowError(
                "INVALID_PARAMETER_VALUE",
                f"Artifact {relative!r} has {int(length):,} bytes; the limit is {settings.ARTIFACT_MAX_BYTES:,} "
                "bytes (ARTIFACT_MAX_BYTES).",
                status=413,
            )
        services.artifact_save(run=run, path=relative, stream=request)
        return JsonResponse({})
    if request.method == "GET":
        run, relative = _artifact_target(user, path, need=Role.STAKEHOLDER)
        return artifact_download_response(run, relative)
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


@_artifact_errors
def artifact_list(request: HttpRequest) -> HttpResponse:
    """GET ``?path=<experiment id>/<run id>/artifacts[/folder]``: the files and folders directly inside."""
    if request.method != "GET":
        raise MlflowError("BAD_REQUEST", "Use GET to list artifacts.", status=405)
    user = authenticate(request)
    run, folder = _artifact_target(user, request.GET.get("path", ""), need=Role.STAKEHOLDER)
    prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
    entries: dict[str, dict] = {}
    for item_path, size in selectors.artifact_sizes(run=run, prefix=prefix):
        rest = item_path[len(prefix) :]
        head, sep, _ = rest.partition("/")
        if sep:
            entries.setdefault(head, {"path": head, "is_dir": True})
        else:
            entries[head] = {"path": head, "is_dir": False, "file_size": size}
    return JsonResponse({"files": [entries[k] for k in sorted(entries)]})
