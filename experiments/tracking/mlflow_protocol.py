"""What the MLflow client speaks: its error format and status codes, token authentication, the
readers of request fields, and the JSON shape of experiments and runs. Used by the tracking
endpoints (``mlflow_api``) and the artifact endpoints (``mlflow_artifacts``)."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework.exceptions import AuthenticationFailed

from agileml.authentication import BearerOrTokenAuthentication
from experiments.tracking import model_selectors, selectors, services
from experiments.tracking.models import Experiment, LatestMetric, LoggedModel, Run, RunStatus
from experiments.tracking.selectors import STATUS_TO_MLFLOW
from tickets.models import Project

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
    "NOT_IMPLEMENTED": 501,
}


ARTIFACTS_DIR = "artifacts"


class MlflowError(Exception):
    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or HTTP_STATUS[code]

    def response(self) -> JsonResponse:
        return JsonResponse({"error_code": self.code, "message": self.message}, status=self.status)


def validation_message(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(m for messages in error.message_dict.values() for m in messages)
    return " ".join(error.messages)


def translate_error(error: Exception) -> MlflowError:
    if isinstance(error, MlflowError):
        return error
    if isinstance(error, ValidationError):
        return MlflowError("INVALID_PARAMETER_VALUE", validation_message(error))
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
        # The token row, for the logging endpoints' remembered access (access_memo).
        request.mlflow_token = result[1]
        return result[0]
    if request.method == "GET" and request.user.is_authenticated:
        return request.user
    raise MlflowError(
        "UNAUTHENTICATED",
        "Authentication required: set MLFLOW_TRACKING_TOKEN to your AgileML API token "
        "(make one at /account/tokens/ or with POST /api/v1/auth/token/).",
    )


def json_body(request: HttpRequest) -> dict:
    if request.method == "GET":
        return {k: (v if len(v) > 1 else v[0]) for k, v in request.GET.lists()}
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise MlflowError("MALFORMED_REQUEST", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise MlflowError("MALFORMED_REQUEST", "The request body must be a JSON object.")
    return data


def read_str(data: dict, name: str, *, required: bool = True, default: str = "") -> str:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise MlflowError("INVALID_PARAMETER_VALUE", f"Missing value for required parameter '{name}'.")
        return default
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Parameter '{name}' must be a string; got {value!r}.")
    return str(value)


def read_int(value: Any, name: str, *, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Parameter '{name}' must be an integer; got {value!r}.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    # ASCII digits only: ``\d`` would also take '٣', which int() reads as 3.
    if isinstance(value, str) and re.fullmatch(r"[-+]?[0-9]+", value.strip()):
        return int(value)
    raise MlflowError("INVALID_PARAMETER_VALUE", f"Parameter '{name}' must be an integer; got {value!r}.")


_SPECIAL_FLOATS = {"nan": math.nan, "infinity": math.inf, "-infinity": -math.inf, "inf": math.inf, "-inf": -math.inf}


def read_float(value: Any, name: str) -> float:
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


def number_out(value: float, is_nan: bool = False) -> float | str:
    if is_nan or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def read_pairs(items: Any, name: str) -> list[tuple[str, str]]:
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


def read_metric_points(items: Any) -> list[services.MetricPoint]:
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
            timestamp = read_int(timestamp, f"metrics[{index}].timestamp")
            if timestamp is None:
                now = now or services.now_ms()
                timestamp = now
        if type(step) is not int:
            step = read_int(step, f"metrics[{index}].step", default=0)
        if type(value) is not float:
            value = read_float(value, f"metrics[{index}].value")
        points.append(point(str(key), value, timestamp, step))
    return points


def _ms(moment) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def experiment_json(project: Project, experiment: Experiment | None = None, *, scoped: bool = False) -> dict:
    """A project (its own experiment) or a named experiment of it; named ones are ``KEY/name``
    unless the client uses the project-scoped tracking URI (``scoped``)."""
    if experiment is None:
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
    created = _ms(experiment.created_at)
    return {
        "experiment_id": experiment.mlflow_id,
        "name": experiment.name if scoped else f"{project.key}/{experiment.name}",
        "artifact_location": f"mlflow-artifacts:/{experiment.mlflow_id}",
        "lifecycle_stage": "deleted" if experiment.deleted_at else "active",
        "creation_time": created,
        "last_update_time": _ms(experiment.deleted_at) or created,
        "tags": [],
    }


def run_info_json(run: Run) -> dict:
    experiment_id = run.experiment_mlflow_id
    info = {
        "run_id": run.uuid,
        "run_uuid": run.uuid,
        "run_name": run.name,
        "experiment_id": experiment_id,
        "user_id": run.started_by.get_username() if run.started_by_id else "",
        "status": STATUS_TO_MLFLOW[RunStatus(run.status)],
        "start_time": _ms(run.start_time),
        "artifact_uri": f"mlflow-artifacts:/{experiment_id}/{run.uuid}/{ARTIFACTS_DIR}",
        "lifecycle_stage": "deleted" if run.deleted_at else "active",
    }
    if run.end_time is not None:
        info["end_time"] = _ms(run.end_time)
    return info


def _pairs(mapping: dict[str, str]) -> list[dict]:
    return [{"key": k, "value": v} for k, v in mapping.items()]


def logged_model_json(model: LoggedModel) -> dict:
    """MLflow's LoggedModel; ``model`` comes from ``model_selectors.logged_models_with_details``."""
    info = {
        "model_id": model.model_id,
        "experiment_id": model.experiment_mlflow_id,
        "name": model.name,
        "creation_timestamp_ms": _ms(model.created_at),
        "last_updated_timestamp_ms": _ms(model.updated_at),
        "artifact_uri": model.artifact_uri,
        "status": LOGGED_MODEL_STATUS[model.status],
        "status_message": model.status_message,
        "tags": [{"key": t.key, "value": t.value} for t in model.tags.all()],
    }
    if model.model_type:
        info["model_type"] = model.model_type
    if model.run_id:
        info["source_run_id"] = model.run.uuid
    return {"info": info, "data": {"params": [{"key": p.key, "value": p.value} for p in model.params.all()]}}


LOGGED_MODEL_STATUS = {
    "pending": "LOGGED_MODEL_PENDING",
    "ready": "LOGGED_MODEL_READY",
    "failed": "LOGGED_MODEL_UPLOAD_FAILED",
}


def _dataset_json(row) -> dict:
    dataset = {"name": row.name, "digest": row.digest, "source_type": row.source_type, "source": row.source}
    if row.schema:
        dataset["schema"] = row.schema
    if row.profile:
        dataset["profile"] = row.profile
    return {"tags": _pairs(row.tags), "dataset": dataset}


def _latest_json(row: LatestMetric) -> dict:
    return {"key": row.key, "value": number_out(row.value, row.is_nan), "timestamp": row.timestamp, "step": row.step}


def runs_json(runs: list[Run]) -> list[dict]:
    """Full MLflow run objects for ``runs``: five queries whatever the number of runs."""
    ids = [r.pk for r in runs]
    latest = selectors.latest_metrics_of_runs(run_ids=ids)
    params = selectors.params_of_runs(run_ids=ids)
    tags = selectors.tags_of_runs(run_ids=ids)
    datasets, links = model_selectors.inputs_of_runs(run_ids=ids)
    out = []
    for run in runs:
        run_links = links.get(run.pk, [])
        out.append(
            {
                "info": run_info_json(run),
                "data": {
                    "metrics": [_latest_json(m) for m in latest.get(run.pk, {}).values()],
                    "params": [{"key": k, "value": v} for k, v in params.get(run.pk, {}).items()],
                    "tags": [{"key": k, "value": v} for k, v in selectors.run_tags(run, tags.get(run.pk, {})).items()],
                },
                "inputs": {
                    "dataset_inputs": [_dataset_json(d) for d in datasets.get(run.pk, [])],
                    "model_inputs": [
                        {"model_id": link.model.model_id} for link in run_links if link.direction == "input"
                    ],
                },
                "outputs": {
                    "model_outputs": [
                        {"model_id": link.model.model_id, "step": link.step}
                        for link in run_links
                        if link.direction == "output"
                    ]
                },
            }
        )
    return out


# Outsiders learn nothing from these: the same answer whether or not the experiment or run exists.
NO_SUCH_EXPERIMENT = (
    "No such experiment, or you are not a member of its project. In AgileML the MLflow experiment is a "
    "project: call mlflow.set_experiment('<PROJECT KEY>') (e.g. 'AUTH') before starting a run."
)


NO_SUCH_RUN = "No such run, or you are not a member of its project."


def page_offset(token: Any) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(str(token).encode()))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Invalid page_token {token!r}.") from None
    if not isinstance(offset, int) or offset < 0:
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Invalid page_token {token!r}.")
    return offset


def page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()
