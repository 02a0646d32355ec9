"""The MLflow-compatible tracking API, so unchanged MLflow scripts log into AgileML.

``MLFLOW_TRACKING_URI=http://HOST/mlflow`` and ``MLFLOW_TRACKING_TOKEN=<API token>`` make
the stock client call ``/mlflow/api/2.0/mlflow/<endpoint>`` (and the MLflow UI's
``/mlflow/ajax-api/2.0/...``). The MLflow experiment is the project (name = project key,
experiment id = project id); tag ``agileml.ticket`` attaches a run to a ticket.

Plain Django views rather than DRF: the client sends small JSON bodies at a high rate,
so each request does only token lookup, the access check and the write. Errors use
MLflow's format ``{"error_code": ..., "message": ...}`` and status codes, which the
client turns into ``MlflowException`` with the message intact.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from experiments.tracking import selectors, services
from experiments.tracking.access import run_for_user
from experiments.tracking.mlflow_protocol import (
    NO_SUCH_EXPERIMENT,
    NO_SUCH_RUN,
    MlflowError,
    authenticate,
    experiment_json,
    json_body,
    number_out,
    page_offset,
    page_token,
    read_float,
    read_int,
    read_metric_points,
    read_pairs,
    read_str,
    run_info_json,
    runs_json,
    translate_error,
)
from experiments.tracking.models import Run
from experiments.tracking.search_syntax import SearchSyntaxError, like_to_regex, parse_filter, parse_order_by
from experiments.tracking.selectors import MLFLOW_TO_STATUS, STATUS_TO_MLFLOW
from tickets.access import project_by_id_for_user, project_for_user
from tickets.models import Project, Role

SEARCH_MAX_RESULTS_DEFAULT = 1000
SEARCH_MAX_RESULTS = 50000


# --- Endpoint plumbing ----------------------------------------------------------------
Handler = Callable[[HttpRequest, AbstractBaseUser, dict], dict]
ENDPOINTS: dict[str, tuple[str, Handler]] = {}


def endpoint(path: str, method: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ENDPOINTS[path] = (method, handler)
        return handler

    return register


@csrf_exempt
def dispatch(request: HttpRequest, path: str) -> HttpResponse:
    """``/mlflow/api/2.0/mlflow/<path>``: route to the handler registered for ``path``."""
    entry = ENDPOINTS.get(path.strip("/"))
    try:
        if entry is None:
            raise MlflowError(
                "ENDPOINT_NOT_FOUND",
                f"AgileML does not implement the MLflow endpoint {path!r}.",
            )
        method, handler = entry
        if request.method != method:
            raise MlflowError("BAD_REQUEST", f"Use {method} for {path}.", status=405)
        user = authenticate(request)
        return JsonResponse(handler(request, user, json_body(request)))
    except (MlflowError, ValidationError, Http404, PermissionDenied, RequestDataTooBig) as error:
        return translate_error(error).response()


def _experiment_project(user: AbstractBaseUser, experiment_id: Any, *, need: Role) -> Project:
    try:
        return project_by_id_for_user(user, experiment_id, need=need)
    except Http404:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", NO_SUCH_EXPERIMENT) from None


def _run(user: AbstractBaseUser, data: dict, *, need: Role, queryset: QuerySet[Run] | None = None) -> Run:
    run_id = data.get("run_id") or data.get("run_uuid")
    if not run_id:
        raise MlflowError("INVALID_PARAMETER_VALUE", "Missing value for required parameter 'run_id'.")
    try:
        return run_for_user(user, str(run_id), need=need, queryset=queryset)
    except Http404:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", NO_SUCH_RUN) from None


# --- Experiments ------------------------------------------------------------------------
@endpoint("experiments/get-by-name", "GET")
def experiment_get_by_name(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    name = read_str(data, "experiment_name")
    try:
        project = project_for_user(user, name)
    except Http404:
        raise MlflowError(
            "RESOURCE_DOES_NOT_EXIST",
            "Could not find that experiment: no AgileML project with that key has you as a member.",
        ) from None
    return {"experiment": experiment_json(project)}


@endpoint("experiments/create", "POST")
def experiment_create(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    name = read_str(data, "name")
    try:
        project = project_for_user(user, name, need=Role.ENGINEER)
    except Http404:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            f"Cannot create experiment '{name}': in AgileML an MLflow experiment is a project, and there is no "
            "project with that key that you can log to. Use an existing project key (e.g. "
            "mlflow.set_experiment('AUTH')); a lead creates projects in AgileML.",
        ) from None
    return {"experiment_id": str(project.pk)}


@endpoint("experiments/get", "GET")
def experiment_get(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    project = _experiment_project(user, data.get("experiment_id"), need=Role.STAKEHOLDER)
    return {"experiment": experiment_json(project)}


_NAME_FILTER = re.compile(r"^\s*(?:attributes?\.|attr\.)?name\s*(=|!=|LIKE|ILIKE)\s*'((?:[^'\\]|\\.)*)'\s*$", re.I)


@endpoint("experiments/search", "POST")
def experiment_search(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    projects = selectors.projects_of_user(user=user)
    text = data.get("filter") or ""
    if text.strip():
        match = _NAME_FILTER.match(text)
        if not match:
            raise MlflowError("INVALID_PARAMETER_VALUE", f"Unsupported experiment filter {text!r}: use name = 'KEY'.")
        op, value = match.group(1).upper(), match.group(2)
        pattern = re.compile(like_to_regex(value), re.I if op == "ILIKE" else 0)
        keep = {"=": lambda k: k == value, "!=": lambda k: k != value}.get(op, lambda k: bool(pattern.match(k)))
        projects = [p for p in projects if keep(p.key)]
    return {"experiments": [experiment_json(p) for p in projects]}


# --- Runs -------------------------------------------------------------------------------
@endpoint("runs/create", "POST")
def run_create(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    project = _experiment_project(user, data.get("experiment_id"), need=Role.ENGINEER)
    start = read_int(data.get("start_time"), "start_time")
    run = services.run_create(
        project=project,
        user=user,
        name=read_str(data, "run_name", required=False),
        start_time=services.datetime_from_ms(start) if start is not None else None,
        tags=read_pairs(data.get("tags"), "tags"),
    )
    run.project = project
    run.started_by = user
    return {"run": runs_json([run])[0]}


@endpoint("runs/get", "GET")
def run_get(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    run = _run(user, data, need=Role.STAKEHOLDER, queryset=selectors.runs_with_people())
    return {"run": runs_json([run])[0]}


@endpoint("runs/update", "POST")
def run_update(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    run = _run(user, data, need=Role.ENGINEER, queryset=selectors.runs_with_people())
    status = data.get("status")
    if status is not None and str(status).upper() not in MLFLOW_TO_STATUS:
        known = ", ".join(STATUS_TO_MLFLOW.values())
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Unknown run status {status!r}; use one of {known}.")
    end_time = read_int(data.get("end_time"), "end_time")
    name = data.get("run_name")
    services.run_update(
        run=run,
        status=MLFLOW_TO_STATUS[str(status).upper()] if status is not None else None,
        end_time=services.datetime_from_ms(end_time) if end_time is not None else None,
        name=str(name) if name else None,
    )
    return {"run_info": run_info_json(run)}


@endpoint("runs/log-parameter", "POST")
def run_log_parameter(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    run = _run(user, data, need=Role.ENGINEER)
    value = data.get("value")
    services.run_log(run=run, params=[(read_str(data, "key"), "" if value is None else str(value))])
    return {}


@endpoint("runs/log-metric", "POST")
def run_log_metric(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    run = _run(user, data, need=Role.ENGINEER)
    if "value" not in data:
        raise MlflowError("INVALID_PARAMETER_VALUE", "Missing value for required parameter 'value'.")
    timestamp = read_int(data.get("timestamp"), "timestamp")
    point = services.MetricPoint(
        key=read_str(data, "key"),
        value=read_float(data["value"], "value"),
        timestamp=services.now_ms() if timestamp is None else timestamp,
        step=read_int(data.get("step"), "step", default=0),
    )
    services.run_log(run=run, metrics=[point])
    return {}


@endpoint("runs/log-batch", "POST")
def run_log_batch(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    run = _run(user, data, need=Role.ENGINEER)
    services.run_log(
        run=run,
        metrics=read_metric_points(data.get("metrics")),
        params=read_pairs(data.get("params"), "params"),
        tags=read_pairs(data.get("tags"), "tags"),
        actor=user,
    )
    return {}


@endpoint("runs/set-tag", "POST")
def run_set_tag(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    run = _run(user, data, need=Role.ENGINEER)
    value = data.get("value")
    services.run_log(run=run, tags=[(read_str(data, "key"), "" if value is None else str(value))], actor=user)
    return {}


@endpoint("runs/delete-tag", "POST")
def run_delete_tag(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    run = _run(user, data, need=Role.ENGINEER)
    services.run_delete_tag(run=run, key=read_str(data, "key"), actor=user)
    return {}


@endpoint("runs/search", "POST")
def run_search(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    experiment_ids = data.get("experiment_ids") or []
    if isinstance(experiment_ids, str | int):
        experiment_ids = [experiment_ids]
    if not experiment_ids:
        raise MlflowError("INVALID_PARAMETER_VALUE", "Give at least one experiment id in 'experiment_ids'.")
    projects = [_experiment_project(user, e, need=Role.STAKEHOLDER) for e in experiment_ids]
    max_results = read_int(data.get("max_results"), "max_results", default=SEARCH_MAX_RESULTS_DEFAULT)
    if not 0 < max_results <= SEARCH_MAX_RESULTS:
        raise MlflowError("INVALID_PARAMETER_VALUE", f"max_results must be between 1 and {SEARCH_MAX_RESULTS}.")
    order_by = data.get("order_by") or []
    if isinstance(order_by, str):
        order_by = [order_by]
    try:
        clauses = parse_filter(data.get("filter"))
        order = parse_order_by(order_by)
    except SearchSyntaxError as exc:
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Invalid search: {exc}") from None
    if str(data.get("run_view_type") or "ACTIVE_ONLY").upper() == "DELETED_ONLY":
        return {"runs": []}
    offset = page_offset(data.get("page_token"))
    runs = selectors.search_runs(projects=projects, clauses=clauses, order=order)
    page = list(runs[offset : offset + max_results + 1])
    result: dict[str, Any] = {"runs": runs_json(page[:max_results])}
    if len(page) > max_results:
        result["next_page_token"] = page_token(offset + max_results)
    return result


@endpoint("metrics/get-history", "GET")
def metric_get_history(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    run = _run(user, data, need=Role.STAKEHOLDER)
    key = read_str(data, "metric_key")
    max_results = read_int(data.get("max_results"), "max_results")
    offset = page_offset(data.get("page_token"))
    rows = selectors.metric_points(
        run=run, key=key, offset=offset, limit=None if max_results is None else max_results + 1
    )
    result: dict[str, Any] = {
        "metrics": [
            {"key": key, "value": number_out(v, nan), "timestamp": ts, "step": step}
            for v, nan, ts, step in (rows[:max_results] if max_results is not None else rows)
        ]
    }
    if max_results is not None and len(rows) > max_results:
        result["next_page_token"] = page_token(offset + max_results)
    return result


@endpoint("logged-models/search", "POST")
def logged_model_search(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    """AgileML keeps no MLflow logged models; the client asks when it lists run artifacts."""
    for experiment_id in data.get("experiment_ids") or []:
        _experiment_project(user, experiment_id, need=Role.STAKEHOLDER)
    return {"models": []}


def server_info(request: HttpRequest) -> JsonResponse:
    """What the client probes before large transfers: no multipart uploads or presigned URLs here."""
    return JsonResponse(
        {
            "store_type": "SqlStore",
            "workspaces_enabled": False,
            "multipart_uploads_enabled": False,
            "multipart_downloads_enabled": False,
        }
    )
