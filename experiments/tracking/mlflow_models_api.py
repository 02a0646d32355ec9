"""MLflow 3 logged models and run inputs/outputs over the MLflow REST API.

``mlflow.<flavor>.log_model`` creates a logged model (``m-<hex>``) in the run's experiment,
uploads its files to the model's ``artifact_uri`` (``mlflow_artifacts``) and links it to the run
as an output; ``runs:/<run id>/<name>`` and ``models:/<model id>`` load it back. Access follows the
model's project, as for runs.
"""

from __future__ import annotations

import re

from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404, HttpRequest

from experiments.tracking import model_selectors, services
from experiments.tracking.access import logged_model_for_user
from experiments.tracking.mlflow_api import endpoint, experiment_for, run_from
from experiments.tracking.mlflow_protocol import (
    MlflowError,
    logged_model_json,
    page_offset,
    page_token,
    read_int,
    read_pairs,
    read_str,
)
from experiments.tracking.models import LoggedModel, LoggedModelStatus
from tickets.models import Role

NO_SUCH_MODEL = "No such logged model, or you are not a member of its project."
SEARCH_MAX_RESULTS = 1000
_STATUSES = {
    "LOGGED_MODEL_READY": LoggedModelStatus.READY,
    "READY": LoggedModelStatus.READY,
    "LOGGED_MODEL_UPLOAD_FAILED": LoggedModelStatus.FAILED,
    "FAILED": LoggedModelStatus.FAILED,
    "LOGGED_MODEL_PENDING": LoggedModelStatus.PENDING,
    "PENDING": LoggedModelStatus.PENDING,
}


def _model(user: AbstractBaseUser, model_id: object, *, need: Role, deleted_ok: bool = False) -> LoggedModel:
    try:
        model = logged_model_for_user(user, str(model_id or ""), need=need)
    except Http404:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", NO_SUCH_MODEL) from None
    if model.deleted_at is not None and not deleted_ok:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Logged model {model.model_id} is deleted.")
    return model


def _detail(model: LoggedModel) -> dict:
    fresh = model_selectors.logged_models_with_details().get(pk=model.pk)
    return {"model": logged_model_json(fresh)}


@endpoint("logged-models", "POST")
def logged_model_create(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    project, experiment = experiment_for(request, user, data.get("experiment_id"), need=Role.ENGINEER)
    run = None
    if data.get("source_run_id"):
        run = run_from(user, {"run_id": data["source_run_id"]}, need=Role.ENGINEER)
    model = services.logged_model_create(
        project=project,
        experiment=experiment,
        user=user,
        name=read_str(data, "name", required=False),
        run=run,
        model_type=read_str(data, "model_type", required=False),
        tags=read_pairs(data.get("tags"), "tags"),
        params=read_pairs(data.get("params"), "params"),
    )
    return _detail(model)


@endpoint("logged-models/{model_id}", "GET")
def logged_model_get(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    allow_deleted = str(data.get("allow_deleted", "")).lower() == "true"
    return _detail(_model(user, data["model_id"], need=Role.STAKEHOLDER, deleted_ok=allow_deleted))


@endpoint("logged-models/{model_id}", "PATCH")
def logged_model_finalize(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    model = _model(user, data["model_id"], need=Role.ENGINEER)
    status = str(data.get("status") or "")
    if status.upper() not in _STATUSES:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            f"Unknown logged model status {status!r}; use LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED.",
        )
    services.logged_model_finalize(model=model, status=_STATUSES[status.upper()])
    return _detail(model)


@endpoint("logged-models/{model_id}", "DELETE")
def logged_model_delete(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    services.logged_model_delete(model=_model(user, data["model_id"], need=Role.ENGINEER))
    return {}


@endpoint("logged-models/{model_id}/tags", "PATCH")
def logged_model_set_tags(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    model = _model(user, data["model_id"], need=Role.ENGINEER)
    services.logged_model_set_tags(model=model, tags=read_pairs(data.get("tags"), "tags"))
    return {}


@endpoint("logged-models/{model_id}/tags/{tag_key}", "DELETE")
def logged_model_delete_tag(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    model = _model(user, data["model_id"], need=Role.ENGINEER)
    services.logged_model_delete_tag(model=model, key=str(data["tag_key"]))
    return {}


@endpoint("logged-models/{model_id}/params", "POST")
def logged_model_log_params(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    model = _model(user, data["model_id"], need=Role.ENGINEER)
    services.logged_model_log_params(model=model, params=read_pairs(data.get("params"), "params"))
    return {}


# The filters the client itself sends: by name (``runs:/<id>/<name>``) and by source run.
_MODEL_FILTER = re.compile(r"^\s*(name|source_run_id)\s*=\s*'((?:[^'\\]|\\.)*)'\s*$", re.I)


def _read_model_filter(text: str) -> dict:
    found: dict = {}
    for part in re.split(r"\s+AND\s+", text.strip(), flags=re.I) if text.strip() else []:
        match = _MODEL_FILTER.match(part)
        if not match:
            raise MlflowError(
                "INVALID_PARAMETER_VALUE",
                f"Unsupported logged model filter {part!r}: AgileML supports name = '...' and source_run_id = '...'.",
            )
        field = match.group(1).lower()
        found["name" if field == "name" else "source_run_uuid"] = match.group(2)
    return found


@endpoint("logged-models/search", "POST")
def logged_model_search(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    experiment_ids = data.get("experiment_ids") or []
    if isinstance(experiment_ids, str | int):
        experiment_ids = [experiment_ids]
    experiments = [experiment_for(request, user, e, need=Role.STAKEHOLDER) for e in experiment_ids]
    filters = _read_model_filter(str(data.get("filter") or ""))
    max_results = read_int(data.get("max_results"), "max_results", default=100)
    if not 0 < max_results <= SEARCH_MAX_RESULTS:
        raise MlflowError("INVALID_PARAMETER_VALUE", f"max_results must be between 1 and {SEARCH_MAX_RESULTS}.")
    offset = page_offset(data.get("page_token"))
    models = model_selectors.search_logged_models(
        experiments=[(p, e.pk if e else None) for p, e in experiments], **filters
    )
    page = list(models[offset : offset + max_results + 1])
    result: dict = {"models": [logged_model_json(m) for m in page[:max_results]]}
    if len(page) > max_results:
        result["next_page_token"] = page_token(offset + max_results)
    return result


@endpoint("logged-models/{model_id}/artifacts/directories", "GET")
def logged_model_list_artifacts(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    model = _model(user, data["model_id"], need=Role.STAKEHOLDER)
    folder = str(data.get("artifact_directory_path") or "").strip("/")
    prefix = f"{folder}/" if folder else ""
    entries: dict[str, dict] = {}
    for path, size in model_selectors.model_file_sizes(model=model, prefix=prefix):
        head, sep, _ = path[len(prefix) :].partition("/")
        if sep:
            entries.setdefault(head, {"path": prefix + head, "is_dir": True})
        else:
            entries[head] = {"path": prefix + head, "is_dir": False, "file_size": size}
    return {"root_uri": model.artifact_uri, "files": [entries[k] for k in sorted(entries)]}


# --- Run inputs and outputs --------------------------------------------------------------
def _models_named(user: AbstractBaseUser, items: object, field: str) -> list[tuple[LoggedModel, int]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Parameter '{field}' must be a list of {{model_id}} objects.")
    found = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("model_id"):
            raise MlflowError("INVALID_PARAMETER_VALUE", f"{field}[{index}] needs a 'model_id'.")
        step = read_int(item.get("step"), f"{field}[{index}].step", default=0)
        found.append((_model(user, item["model_id"], need=Role.STAKEHOLDER, deleted_ok=True), step))
    return found


def _datasets(items: object) -> list[services.DatasetInput]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise MlflowError("INVALID_PARAMETER_VALUE", "Parameter 'datasets' must be a list.")
    found = []
    for index, item in enumerate(items):
        dataset = item.get("dataset") if isinstance(item, dict) else None
        if not isinstance(dataset, dict):
            raise MlflowError("INVALID_PARAMETER_VALUE", f"datasets[{index}] needs a 'dataset' object.")
        text = {
            k: "" if dataset.get(k) is None else str(dataset.get(k))
            for k in ("name", "digest", "source_type", "source", "schema", "profile")
        }
        tags = dict(read_pairs(item.get("tags"), f"datasets[{index}].tags"))
        found.append(services.DatasetInput(**text, tags=tags))
    return found


@endpoint("runs/log-inputs", "POST")
def run_log_inputs(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    run = run_from(user, data, need=Role.ENGINEER)
    models = _models_named(user, data.get("models"), "models")
    services.run_log_inputs(run=run, datasets=_datasets(data.get("datasets")), models=[m for m, _ in models])
    return {}


@endpoint("runs/outputs", "POST")
def run_log_outputs(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    run = run_from(user, data, need=Role.ENGINEER)
    models = _models_named(user, data.get("models"), "models")
    services.run_log_outputs(run=run, models=[m for m, _ in models], steps={m.pk: step for m, step in models})
    return {}


@endpoint("runs/log-model", "POST")
def run_log_model(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    """MLflow 2's model record: the files are the run's artifacts already, so nothing more is kept."""
    run_from(user, data, need=Role.ENGINEER)
    return {}
