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

import json
import re
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from experiments.tracking import access_memo, model_selectors, selectors, services
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
from experiments.tracking.models import Experiment, Run
from experiments.tracking.search_syntax import SearchSyntaxError, like_to_regex, parse_filter, parse_order_by
from experiments.tracking.selectors import MLFLOW_TO_STATUS, STATUS_TO_MLFLOW
from tickets.access import parse_id, project_by_id_for_user, project_for_user
from tickets.models import Project, Role

SEARCH_MAX_RESULTS_DEFAULT = 1000
SEARCH_MAX_RESULTS = 50000


# --- Endpoint plumbing ----------------------------------------------------------------
Handler = Callable[[HttpRequest, AbstractBaseUser, dict], dict]
ENDPOINTS: dict[tuple[str, str], Handler] = {}
# Endpoints with ids in their path, e.g. ``logged-models/{model_id}/tags``.
PATTERNS: list[tuple[re.Pattern, str, Handler]] = []


def endpoint(path: str, method: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``path`` (``{name}`` parts are passed in the request data)."""

    def register(handler: Handler) -> Handler:
        if "{" in path:
            regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
            PATTERNS.append((re.compile(f"^{regex}$"), method, handler))
        else:
            ENDPOINTS[(path, method)] = handler
        return handler

    return register


def _route(path: str, method: str) -> tuple[Handler, dict]:
    handler = ENDPOINTS.get((path, method))
    if handler is not None:
        return handler, {}
    allowed = [m for (p, m) in ENDPOINTS if p == path]
    for regex, pattern_method, pattern_handler in PATTERNS:
        match = regex.match(path)
        if match and pattern_method == method:
            return pattern_handler, match.groupdict()
        if match:
            allowed.append(pattern_method)
    if allowed:
        raise MlflowError("BAD_REQUEST", f"Use {' or '.join(sorted(set(allowed)))} for {path}.", status=405)
    if path.startswith("traces") or path.startswith("unified-traces"):
        raise MlflowError("NOT_IMPLEMENTED", NO_TRACES)
    raise MlflowError("ENDPOINT_NOT_FOUND", f"AgileML does not implement the MLflow endpoint {path!r}.")


NO_TRACES = (
    "AgileML does not store traces (MLflow tracing, @mlflow.trace); runs, metrics, params, artifacts and "
    "logged models are stored. Traced functions still run; send traces to another MLflow server or disable "
    "them with mlflow.tracing.disable()."
)


@csrf_exempt
def dispatch(request: HttpRequest, path: str, key: str | None = None) -> HttpResponse:
    """``/mlflow[/<KEY>]/api/2.0/mlflow/<path>``: route to the handler registered for ``path``.

    Under ``/mlflow/<KEY>/`` (the project-scoped tracking URI) every experiment lives in project KEY."""
    try:
        request.mlflow_scope_key = key
        remembered = _remembered_call(request, path, key)
        if remembered is not None:
            handler, user, data = remembered
            return JsonResponse(handler(request, user, data))
        # Under a project's URI the project is checked first: outsiders learn nothing, whatever the path.
        scope = _scope_project(authenticate(request), key) if key is not None else None
        handler, path_values = _route(path.strip("/"), request.method or "GET")
        user = authenticate(request)
        request.mlflow_project = scope
        data = json_body(request)
        data.update(path_values)
        return JsonResponse(handler(request, user, data))
    except (MlflowError, ValidationError, Http404, PermissionDenied, RequestDataTooBig) as error:
        return translate_error(error).response()


def _remembered_call(request: HttpRequest, path: str, key: str | None) -> tuple[Handler, AbstractBaseUser, dict] | None:
    """A logging call whose access the helper already allowed for this token and run, unchanged since
    (``access_memo``): the handler, the user and the body, with the run on ``request.mlflow_run``.

    None sends the request down the full path, which answers every error exactly as before."""
    handler = ENDPOINTS.get((path.strip("/"), request.method or "GET"))
    if handler not in REMEMBERED_ENDPOINTS or "HTTP_AUTHORIZATION" not in request.META:
        return None
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, RequestDataTooBig):
        return None
    if not isinstance(data, dict):
        return None
    run_ref = data.get("run_id") or data.get("run_uuid")
    if not isinstance(run_ref, str) or (handler is run_log_batch and data.get("tags")):
        return None
    found = access_memo.remembered_run(request, run_ref, need=Role.ENGINEER, scope_key=key)
    if found is None:
        return None
    user, request.mlflow_run = found
    request.mlflow_project = None
    return handler, user, data


def _logging_run(request: HttpRequest, user: AbstractBaseUser, data: dict) -> Run:
    """The run a logging endpoint adds to: the remembered one, or the access helper's (then remembered)."""
    run = getattr(request, "mlflow_run", None)
    if run is not None:
        return run
    run = _run(user, data, need=Role.ENGINEER)
    token = getattr(request, "mlflow_token", None)
    run_ref = data.get("run_id") or data.get("run_uuid")
    if token is not None and isinstance(run_ref, str):
        scope = getattr(request, "mlflow_project", None)
        access_memo.remember_run(
            request,
            run_ref,
            need=Role.ENGINEER,
            scope_key=getattr(request, "mlflow_scope_key", None),
            scope_role=str(scope.role) if scope is not None else None,
            user=user,
            auth=token,
            run=run,
        )
    return run


@csrf_exempt
def traces_refused(request: HttpRequest, key: str | None = None) -> HttpResponse:
    """``/mlflow/api/3.0/mlflow/traces...``: one clear answer, so tracing degrades with one warning."""
    try:
        if key is not None:
            _scope_project(authenticate(request), key)
    except MlflowError as error:
        return error.response()
    return MlflowError("NOT_IMPLEMENTED", NO_TRACES).response()


def _scope_project(user: AbstractBaseUser, key: str) -> Project:
    try:
        return project_for_user(user, key)
    except Http404:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", NO_SUCH_EXPERIMENT) from None


def experiment_for(
    request: HttpRequest, user: AbstractBaseUser, experiment_id: Any, *, need: Role
) -> tuple[Project, Experiment | None]:
    """``<project id>`` or ``<project id>-<experiment id>`` → (project, named experiment or None)."""
    text = str(experiment_id or "").strip()
    project_part, _, named_part = text.partition("-")
    try:
        project = project_by_id_for_user(user, project_part, need=need)
        experiment = None
        if named_part:
            experiment = model_selectors.experiment_of_project(project=project, experiment_id=parse_id(named_part))
            if experiment is None:
                raise Http404
    except Http404:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", NO_SUCH_EXPERIMENT) from None
    scope = getattr(request, "mlflow_project", None)
    if scope is not None and scope.pk != project.pk:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", NO_SUCH_EXPERIMENT)
    return project, experiment


def run_from(
    user: AbstractBaseUser, data: dict, *, need: Role, queryset: QuerySet[Run] | None = None, deleted_ok: bool = False
) -> Run:
    """The run named by ``run_id`` (or ``run_uuid``); writes to a deleted run are refused, as in MLflow."""
    run_id = data.get("run_id") or data.get("run_uuid")
    if not run_id:
        raise MlflowError("INVALID_PARAMETER_VALUE", "Missing value for required parameter 'run_id'.")
    try:
        run = run_for_user(user, str(run_id), need=need, queryset=queryset)
    except Http404:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", NO_SUCH_RUN) from None
    if need != Role.STAKEHOLDER and run.deleted_at is not None and not deleted_ok:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            f"Run {run.uuid} is deleted; restore it (mlflow.MlflowClient().restore_run) first.",
        )
    return run


_run = run_from


# --- Experiments ------------------------------------------------------------------------
def _named(request: HttpRequest, user: AbstractBaseUser, name: str, *, need: Role) -> tuple[Project, str | None]:
    """Where experiment ``name`` lives: (project, None) for the project's own, (project, name) for a named one."""
    scope = getattr(request, "mlflow_project", None)
    if scope is not None:
        if need != Role.STAKEHOLDER:
            scope = project_for_user(user, scope.key, need=need)
        return scope, None if name == scope.key else name
    key, _, rest = name.partition("/")
    return project_for_user(user, key, need=need), rest or None


@endpoint("experiments/get-by-name", "GET")
def experiment_get_by_name(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    name = read_str(data, "experiment_name")
    scoped = getattr(request, "mlflow_project", None) is not None
    try:
        project, named = _named(request, user, name, need=Role.STAKEHOLDER)
    except Http404:
        raise MlflowError(
            "RESOURCE_DOES_NOT_EXIST",
            "Could not find that experiment: no AgileML project with that key has you as a member.",
        ) from None
    experiment = None
    if named is not None:
        experiment = model_selectors.experiment_named(project=project, name=named)
        if experiment is None:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Could not find experiment with name '{name}'.")
    return {"experiment": experiment_json(project, experiment, scoped=scoped)}


@endpoint("experiments/create", "POST")
def experiment_create(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    name = read_str(data, "name")
    try:
        project, named = _named(request, user, name, need=Role.ENGINEER)
    except Http404:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            f"Cannot create experiment '{name}': in AgileML an MLflow experiment is a project (or 'KEY/name' "
            "inside one), and there is no project with that key that you can log to. Use an existing project key "
            "(e.g. mlflow.set_experiment('AUTH')), or set MLFLOW_TRACKING_URI to .../mlflow/<KEY> so that any "
            "experiment name lives in that project; a lead creates projects in AgileML.",
        ) from None
    if named is None:
        return {"experiment_id": str(project.pk)}
    experiment = services.experiment_create(project=project, name=named, user=user)
    return {"experiment_id": experiment.mlflow_id}


@endpoint("experiments/get", "GET")
def experiment_get(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    project, experiment = experiment_for(request, user, data.get("experiment_id"), need=Role.STAKEHOLDER)
    scoped = getattr(request, "mlflow_project", None) is not None
    return {"experiment": experiment_json(project, experiment, scoped=scoped)}


def _set_experiment_deleted(request: HttpRequest, user: AbstractBaseUser, data: dict, *, deleted: bool) -> dict:
    project, experiment = experiment_for(request, user, data.get("experiment_id"), need=Role.STAKEHOLDER)
    if experiment is None:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            f"Experiment {project.key} is the project itself; a project is not deleted through MLflow.",
        )
    experiment_for(request, user, data.get("experiment_id"), need=Role.LEAD)
    services.experiment_set_deleted(experiment=experiment, deleted=deleted)
    return {}


@endpoint("experiments/delete", "POST")
def experiment_delete(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    return _set_experiment_deleted(request, user, data, deleted=True)


@endpoint("experiments/restore", "POST")
def experiment_restore(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    return _set_experiment_deleted(request, user, data, deleted=False)


_NAME_FILTER = re.compile(r"^\s*(?:attributes?\.|attr\.)?name\s*(=|!=|LIKE|ILIKE)\s*'((?:[^'\\]|\\.)*)'\s*$", re.I)


@endpoint("experiments/search", "POST")
def experiment_search(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    scope = getattr(request, "mlflow_project", None)
    projects = [scope] if scope is not None else selectors.projects_of_user(user=user)
    view = str(data.get("view_type") or "ACTIVE_ONLY").upper()
    found = [(p, None) for p in projects if view != "DELETED_ONLY"]
    for experiment in model_selectors.experiments_of_projects(projects=projects):
        deleted = experiment.deleted_at is not None
        if view == "ALL" or deleted == (view == "DELETED_ONLY"):
            found.append((next(p for p in projects if p.pk == experiment.project_id), experiment))
    items = [experiment_json(p, e, scoped=scope is not None) for p, e in found]
    text = data.get("filter") or ""
    if text.strip():
        match = _NAME_FILTER.match(text)
        if not match:
            raise MlflowError("INVALID_PARAMETER_VALUE", f"Unsupported experiment filter {text!r}: use name = 'KEY'.")
        op, value = match.group(1).upper(), match.group(2)
        pattern = re.compile(like_to_regex(value), re.I if op == "ILIKE" else 0)
        keep = {"=": lambda k: k == value, "!=": lambda k: k != value}.get(op, lambda k: bool(pattern.match(k)))
        items = [item for item in items if keep(item["name"])]
    return {"experiments": items}


# --- Runs -------------------------------------------------------------------------------
@endpoint("runs/create", "POST")
def run_create(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    project, experiment = experiment_for(request, user, data.get("experiment_id"), need=Role.ENGINEER)
    if experiment is not None and experiment.deleted_at is not None:
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Experiment {experiment.name!r} is deleted; restore it first.")
    start = read_int(data.get("start_time"), "start_time")
    run = services.run_create(
        project=project,
        experiment=experiment,
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
    run = _logging_run(request, user, data)
    value = data.get("value")
    services.run_log(run=run, params=[(read_str(data, "key"), "" if value is None else str(value))])
    return {}


@endpoint("runs/log-metric", "POST")
def run_log_metric(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    run = _logging_run(request, user, data)
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
    run = _logging_run(request, user, data)
    services.run_log(
        run=run,
        metrics=read_metric_points(data.get("metrics")),
        params=read_pairs(data.get("params"), "params"),
        tags=read_pairs(data.get("tags"), "tags"),
        actor=user,
    )
    return {}


# Endpoints that only add rows to a run (no tags, which may change the run itself): their access
# decision may be remembered (access_memo).
REMEMBERED_ENDPOINTS = frozenset({run_log_parameter, run_log_metric, run_log_batch})


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
    experiments = [experiment_for(request, user, e, need=Role.STAKEHOLDER) for e in experiment_ids]
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
    view = str(data.get("run_view_type") or "ACTIVE_ONLY").upper()
    if view not in ("ACTIVE_ONLY", "DELETED_ONLY", "ALL"):
        raise MlflowError(
            "INVALID_PARAMETER_VALUE", f"run_view_type must be ACTIVE_ONLY, DELETED_ONLY or ALL; got {view!r}."
        )
    offset = page_offset(data.get("page_token"))
    runs = selectors.search_runs(
        experiments=[(p, e.pk if e else None) for p, e in experiments], clauses=clauses, order=order, view=view
    )
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


@endpoint("runs/delete", "POST")
def run_delete(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    run = run_from(user, data, need=Role.ENGINEER, queryset=selectors.runs_with_people(), deleted_ok=True)
    services.run_delete(run=run, actor=user)
    return {}


@endpoint("runs/restore", "POST")
def run_restore(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    run = run_from(user, data, need=Role.ENGINEER, queryset=selectors.runs_with_people(), deleted_ok=True)
    services.run_restore(run=run, actor=user)
    return {}


def server_info(request: HttpRequest, key: str | None = None) -> JsonResponse:
    """What the client probes before large transfers: no multipart uploads or presigned URLs here."""
    if key is not None:
        try:
            _scope_project(authenticate(request), key)
        except MlflowError as error:
            return error.response()
    return JsonResponse(
        {
            "store_type": "SqlStore",
            "workspaces_enabled": False,
            "multipart_uploads_enabled": False,
            "multipart_downloads_enabled": False,
        }
    )
