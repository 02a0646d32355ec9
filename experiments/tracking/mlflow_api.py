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

import base64
import binascii
import functools
import json
import logging
import math
import posixpath
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import AuthenticationFailed

from agileml.authentication import BearerOrTokenAuthentication
from experiments.tracking import selectors, services
from experiments.tracking.access import run_for_user
from experiments.tracking.models import LatestMetric, Run, RunStatus
from experiments.tracking.search_syntax import SearchSyntaxError, like_to_regex, parse_filter, parse_order_by
from experiments.tracking.selectors import MLFLOW_TO_STATUS, STATUS_TO_MLFLOW
from tickets.access import project_by_id_for_user, project_for_user
from tickets.models import Project, Role

logger = logging.getLogger(__name__)

HTTP_STATUS = {
    "INVALID_PARAMETER_VALUE": 400,
    "MALFORMED_REQUEST": 400,
    "BAD_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "INTERNAL_ERROR": 500,
}
SEARCH_MAX_RESULTS_DEFAULT = 1000
SEARCH_MAX_RESULTS = 50000
ARTIFACTS_DIR = "artifacts"


class MlflowError(Exception):
    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or HTTP_STATUS[code]

    def response(self) -> JsonResponse:
        return JsonResponse({"error_code": self.code, "message": self.message}, status=self.status)


def _validation_message(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(m for messages in error.message_dict.values() for m in messages)
    return " ".join(error.messages)


def _translate(error: Exception) -> MlflowError:
    if isinstance(error, MlflowError):
        return error
    if isinstance(error, ValidationError):
        return MlflowError("INVALID_PARAMETER_VALUE", _validation_message(error))
    if isinstance(error, Http404):
        return MlflowError("RESOURCE_DOES_NOT_EXIST", str(error) or "Not found.")
    if isinstance(error, PermissionDenied):
        return MlflowError("PERMISSION_DENIED", str(error) or "Your role in this project does not allow this.")
    if isinstance(error, RequestDataTooBig):
        return MlflowError(
            "INVALID_PARAMETER_VALUE",
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes.",
        )
    raise error


_token_auth = BearerOrTokenAuthentication()


def authenticate(request: HttpRequest) -> AbstractBaseUser:
    """The user of the request's API token (``Bearer``/``Token``); a signed-in browser may read."""
    try:
        result = _token_auth.authenticate(request)
    except AuthenticationFailed as exc:
        raise MlflowError("UNAUTHENTICATED", f"{exc.detail} Check MLFLOW_TRACKING_TOKEN.") from None
    if result is not None:
        return result[0]
    if request.method == "GET" and request.user.is_authenticated:
        return request.user
    raise MlflowError(
        "UNAUTHENTICATED",
        "Authentication required: set MLFLOW_TRACKING_TOKEN to your AgileML API token "
        "(POST /api/v1/auth/token/ gives one).",
    )


def _json_body(request: HttpRequest) -> dict:
    if request.method == "GET":
        return {k: (v if len(v) > 1 else v[0]) for k, v in request.GET.lists()}
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise MlflowError("MALFORMED_REQUEST", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise MlflowError("MALFORMED_REQUEST", "The request body must be a JSON object.")
    return data


# --- Field readers ------------------------------------------------------------------------
def _str(data: dict, name: str, *, required: bool = True, default: str = "") -> str:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise MlflowError("INVALID_PARAMETER_VALUE", f"Missing value for required parameter '{name}'.")
        return default
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Parameter '{name}' must be a string; got {value!r}.")
    return str(value)


def _int(value: Any, name: str, *, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Parameter '{name}' must be an integer; got {value!r}.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[-+]?\d+", value.strip()):
        return int(value)
    raise MlflowError("INVALID_PARAMETER_VALUE", f"Parameter '{name}' must be an integer; got {value!r}.")


_SPECIAL_FLOATS = {"nan": math.nan, "infinity": math.inf, "-infinity": -math.inf, "inf": math.inf, "-inf": -math.inf}


def _float(value: Any, name: str) -> float:
    if isinstance(value, bool) or value is None:
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Parameter '{name}' must be a number; got {value!r}.")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        special = _SPECIAL_FLOATS.get(value.strip().lower())
        if special is not None:
            return special
        try:
            return float(value)
        except ValueError:
            pass
    raise MlflowError("INVALID_PARAMETER_VALUE", f"Parameter '{name}' must be a number; got {value!r}.")


def _number_out(value: float, is_nan: bool = False) -> float | str:
    if is_nan or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _pairs(items: Any, name: str) -> list[tuple[str, str]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Parameter '{name}' must be a list of {{key, value}} objects.")
    pairs = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or "key" not in item:
            raise MlflowError("INVALID_PARAMETER_VALUE", f"{name}[{index}] must be an object with 'key' and 'value'.")
        value = item.get("value", "")
        pairs.append((str(item["key"]), "" if value is None else str(value)))
    return pairs


def _metric_points(items: Any) -> list[services.MetricPoint]:
    """Metric points of a log-batch body. A tight loop: a body may hold a thousand of them."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise MlflowError("INVALID_PARAMETER_VALUE", "Parameter 'metrics' must be a list.")
    now = None
    points = []
    point = services.MetricPoint
    for index, item in enumerate(items):
        try:
            key, value = item["key"], item["value"]
        except (TypeError, KeyError):
            raise MlflowError(
                "INVALID_PARAMETER_VALUE", f"metrics[{index}] must be an object with 'key' and 'value'."
            ) from None
        timestamp = item.get("timestamp")
        step = item.get("step", 0)
        # The client sends plain numbers; anything else goes through the careful readers.
        if type(timestamp) is not int:
            timestamp = _int(timestamp, f"metrics[{index}].timestamp")
            if timestamp is None:
                now = now or services.now_ms()
                timestamp = now
        if type(step) is not int:
            step = _int(step, f"metrics[{index}].step", default=0)
        if type(value) is not float:
            value = _float(value, f"metrics[{index}].value")
        points.append(point(str(key), value, timestamp, step))
    return points


# --- Serialisation --------------------------------------------------------------------
def _ms(moment) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def experiment_json(project: Project) -> dict:
    created = _ms(project.created_at)
    return {
        "experiment_id": str(project.pk),
        "name": project.key,
        "artifact_location": f"mlflow-artifacts:/{project.pk}",
        "lifecycle_stage": "active",
        "creation_time": created,
        "last_update_time": created,
        "tags": [{"key": "mlflow.note.content", "value": project.name}],
    }


def run_info_json(run: Run) -> dict:
    info = {
        "run_id": run.uuid,
        "run_uuid": run.uuid,
        "run_name": run.name,
        "experiment_id": str(run.project_id),
        "user_id": run.started_by.get_username() if run.started_by_id else "",
        "status": STATUS_TO_MLFLOW[RunStatus(run.status)],
        "start_time": _ms(run.start_time),
        "artifact_uri": f"mlflow-artifacts:/{run.project_id}/{run.uuid}/{ARTIFACTS_DIR}",
        "lifecycle_stage": "active",
    }
    if run.end_time is not None:
        info["end_time"] = _ms(run.end_time)
    return info


def _latest_json(row: LatestMetric) -> dict:
    return {"key": row.key, "value": _number_out(row.value, row.is_nan), "timestamp": row.timestamp, "step": row.step}


def runs_json(runs: list[Run]) -> list[dict]:
    """Full MLflow run objects for ``runs``: three queries whatever the number of runs."""
    ids = [r.pk for r in runs]
    latest = selectors.latest_metrics_of_runs(run_ids=ids)
    params = selectors.params_of_runs(run_ids=ids)
    tags = selectors.tags_of_runs(run_ids=ids)
    out = []
    for run in runs:
        out.append(
            {
                "info": run_info_json(run),
                "data": {
                    "metrics": [_latest_json(m) for m in latest.get(run.pk, {}).values()],
                    "params": [{"key": k, "value": v} for k, v in params.get(run.pk, {}).items()],
                    "tags": [{"key": k, "value": v} for k, v in selectors.run_tags(run, tags.get(run.pk, {})).items()],
                },
                "inputs": {},
            }
        )
    return out


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
        return JsonResponse(handler(request, user, _json_body(request)))
    except (MlflowError, ValidationError, Http404, PermissionDenied, RequestDataTooBig) as error:
        return _translate(error).response()


# Outsiders learn nothing from these: the same answer whether or not the experiment or run exists.
NO_SUCH_EXPERIMENT = (
    "No such experiment, or you are not a member of its project. In AgileML the MLflow experiment is a "
    "project: call mlflow.set_experiment('<PROJECT KEY>') (e.g. 'AUTH') before starting a run."
)
NO_SUCH_RUN = "No such run, or you are not a member of its project."


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
    name = _str(data, "experiment_name")
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
    name = _str(data, "name")
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
    start = _int(data.get("start_time"), "start_time")
    run = services.run_create(
        project=project,
        user=user,
        name=_str(data, "run_name", required=False),
        start_time=services.datetime_from_ms(start) if start is not None else None,
        tags=_pairs(data.get("tags"), "tags"),
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
    end_time = _int(data.get("end_time"), "end_time")
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
    services.run_log(run=run, params=[(_str(data, "key"), "" if value is None else str(value))])
    return {}


@endpoint("runs/log-metric", "POST")
def run_log_metric(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    run = _run(user, data, need=Role.ENGINEER)
    if "value" not in data:
        raise MlflowError("INVALID_PARAMETER_VALUE", "Missing value for required parameter 'value'.")
    timestamp = _int(data.get("timestamp"), "timestamp")
    point = services.MetricPoint(
        key=_str(data, "key"),
        value=_float(data["value"], "value"),
        timestamp=services.now_ms() if timestamp is None else timestamp,
        step=_int(data.get("step"), "step", default=0),
    )
    services.run_log(run=run, metrics=[point])
    return {}


@endpoint("runs/log-batch", "POST")
def run_log_batch(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    run = _run(user, data, need=Role.ENGINEER)
    services.run_log(
        run=run,
        metrics=_metric_points(data.get("metrics")),
        params=_pairs(data.get("params"), "params"),
        tags=_pairs(data.get("tags"), "tags"),
        actor=user,
    )
    return {}


@endpoint("runs/set-tag", "POST")
def run_set_tag(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    run = _run(user, data, need=Role.ENGINEER)
    value = data.get("value")
    services.run_log(run=run, tags=[(_str(data, "key"), "" if value is None else str(value))], actor=user)
    return {}


@endpoint("runs/delete-tag", "POST")
def run_delete_tag(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    run = _run(user, data, need=Role.ENGINEER)
    services.run_delete_tag(run=run, key=_str(data, "key"), actor=user)
    return {}


def _page_offset(token: Any) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(str(token).encode()))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Invalid page_token {token!r}.") from None
    if not isinstance(offset, int) or offset < 0:
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Invalid page_token {token!r}.")
    return offset


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


@endpoint("runs/search", "POST")
def run_search(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    experiment_ids = data.get("experiment_ids") or []
    if isinstance(experiment_ids, str | int):
        experiment_ids = [experiment_ids]
    if not experiment_ids:
        raise MlflowError("INVALID_PARAMETER_VALUE", "Give at least one experiment id in 'experiment_ids'.")
    projects = [_experiment_project(user, e, need=Role.STAKEHOLDER) for e in experiment_ids]
    max_results = _int(data.get("max_results"), "max_results", default=SEARCH_MAX_RESULTS_DEFAULT)
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
    offset = _page_offset(data.get("page_token"))
    runs = selectors.search_runs(projects=projects, clauses=clauses, order=order)
    page = list(runs[offset : offset + max_results + 1])
    result: dict[str, Any] = {"runs": runs_json(page[:max_results])}
    if len(page) > max_results:
        result["next_page_token"] = _page_token(offset + max_results)
    return result


@endpoint("metrics/get-history", "GET")
def metric_get_history(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    run = _run(user, data, need=Role.STAKEHOLDER)
    key = _str(data, "metric_key")
    max_results = _int(data.get("max_results"), "max_results")
    offset = _page_offset(data.get("page_token"))
    rows = selectors.metric_points(
        run=run, key=key, offset=offset, limit=None if max_results is None else max_results + 1
    )
    result: dict[str, Any] = {
        "metrics": [
            {"key": key, "value": _number_out(v, nan), "timestamp": ts, "step": step}
            for v, nan, ts, step in (rows[:max_results] if max_results is not None else rows)
        ]
    }
    if max_results is not None and len(rows) > max_results:
        result["next_page_token"] = _page_token(offset + max_results)
    return result


@endpoint("logged-models/search", "POST")
def logged_model_search(request: HttpRequest, user: AbstractBaseUser, data: dict) -> dict:
    """AgileML keeps no MLflow logged models; the client asks when it lists run artifacts."""
    for experiment_id in data.get("experiment_ids") or []:
        _experiment_project(user, experiment_id, need=Role.STAKEHOLDER)
    return {"models": []}


# --- Artifacts ----------------------------------------------------------------------------
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
            translated = _translate(error)
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
        if length and length.isdigit() and int(length) > settings.ARTIFACT_MAX_BYTES:
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
