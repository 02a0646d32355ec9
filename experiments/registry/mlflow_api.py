"""MLflow's model registry endpoints (``registered-models/*``, ``model-versions/*``), for the stock
client: ``mlflow.register_model``, ``MlflowClient`` and ``mlflow.pyfunc.load_model("models:/...")``.

Routed ahead of tracking's catch-all (``experiments/urls.py``), with tracking's error format,
token authentication and field readers. Several endpoints share a path and differ by method
(``registered-models/alias``: POST sets, DELETE removes, GET reads), so handlers are keyed by both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from experiments.registry import champion, selectors, services
from experiments.registry.access import model_for_user, version_for_user
from experiments.registry.mlflow_json import download_uri, model_json, version_json
from experiments.registry.mlflow_search import SearchError, parse_search
from experiments.registry.mlflow_sources import TAG_PROJECT, project_for_new_model, version_source
from experiments.registry.models import CHAMPION_ALIAS
from experiments.tracking.mlflow_protocol import (
    MlflowError,
    authenticate,
    json_body,
    page_offset,
    page_token,
    read_int,
    read_pairs,
    read_str,
    translate_error,
)
from tickets.access import project_for_user, require_role
from tickets.models import Role

Handler = Callable[[AbstractBaseUser, dict], dict]
ENDPOINTS: dict[tuple[str, str], Handler] = {}
MAX_RESULTS = {"registered-models": (100, 1000), "model-versions": (10000, 200000)}


def endpoint(path: str, *methods: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for method in methods:
            ENDPOINTS[(path, method)] = handler
        return handler

    return register


@csrf_exempt
def dispatch(request: HttpRequest, path: str, key: str | None = None) -> HttpResponse:
    """``/mlflow[/<KEY>]/api/2.0/mlflow/{registered-models,model-versions}/<action>``.

    Under the project-scoped URI (``/mlflow/<KEY>``) a new registered model goes to project KEY, as
    if the client had tagged it ``agileml.project``; names are looked up as through ``/mlflow``."""
    path = path.strip("/")
    handler = ENDPOINTS.get((path, request.method or ""))
    try:
        if handler is None:
            methods = sorted(m for p, m in ENDPOINTS if p == path)
            if not methods:
                raise MlflowError("ENDPOINT_NOT_FOUND", f"AgileML does not implement the MLflow endpoint {path!r}.")
            raise MlflowError("BAD_REQUEST", f"Use {' or '.join(methods)} for {path}.", status=405)
        user = authenticate(request)
        data = json_body(request)
        if key:
            # The scoped URI names a project: outsiders get the same 404 whether or not it exists.
            project_for_user(user, key, need=Role.STAKEHOLDER)
            if path == "registered-models/create":
                data = _scoped_to(data, key)
        return JsonResponse(handler(user, data))
    except services.AlreadyExists as error:
        return MlflowError("RESOURCE_ALREADY_EXISTS", " ".join(error.messages)).response()
    except champion.PromotionConflict as error:
        return MlflowError("INVALID_STATE", str(error), status=409).response()
    except (MlflowError, ValidationError, Http404, PermissionDenied, RequestDataTooBig) as error:
        return translate_error(error).response()


def _scoped_to(data: dict, key: str) -> dict:
    tags = data.get("tags") if isinstance(data.get("tags"), list) else []
    if not any(isinstance(t, dict) and t.get("key") == TAG_PROJECT for t in tags):
        data = {**data, "tags": [*tags, {"key": TAG_PROJECT, "value": key}]}
    return data


def _version_number(data: dict) -> int:
    number = read_int(read_str(data, "version"), "version")
    if number is None or number < 1:
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Parameter 'version' must be a version number; got {number!r}.")
    return number


def _model(user: AbstractBaseUser, data: dict, *, need: Role):
    return model_for_user(user, read_str(data, "name"), need=need)


def _version(user: AbstractBaseUser, data: dict, *, need: Role):
    return version_for_user(user, read_str(data, "name"), _version_number(data), need=need)


def _page(data: dict, kind: str) -> tuple[int, int]:
    default, most = MAX_RESULTS[kind]
    limit = read_int(data.get("max_results"), "max_results", default=default)
    if not 0 < limit <= most:
        raise MlflowError("INVALID_PARAMETER_VALUE", f"max_results must be between 1 and {most}.")
    return page_offset(data.get("page_token")), limit


def _list(value: Any) -> list[str] | None:
    if value is None or value == "":
        return None
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


# --- Registered models --------------------------------------------------------------------
@endpoint("registered-models/create", "POST")
def registered_model_create(user: AbstractBaseUser, data: dict) -> dict:
    name = read_str(data, "name")
    tags = read_pairs(data.get("tags"), "tags")
    project = project_for_new_model(user, name, tags)
    model = services.registered_model_create(
        project=project, name=name, user=user, description=read_str(data, "description", required=False), tags=tags
    )
    return {"registered_model": model_json(selectors.model_for_json(model=model))}


@endpoint("registered-models/get", "GET")
def registered_model_get(user: AbstractBaseUser, data: dict) -> dict:
    model = _model(user, data, need=Role.STAKEHOLDER)
    return {"registered_model": model_json(selectors.model_for_json(model=model))}


@endpoint("registered-models/rename", "POST")
def registered_model_rename(user: AbstractBaseUser, data: dict) -> dict:
    model = _model(user, data, need=Role.ENGINEER)
    services.registered_model_rename(model=model, new_name=read_str(data, "new_name"))
    return {"registered_model": model_json(selectors.model_for_json(model=model))}


@endpoint("registered-models/update", "PATCH", "POST")
def registered_model_update(user: AbstractBaseUser, data: dict) -> dict:
    model = _model(user, data, need=Role.ENGINEER)
    services.registered_model_update(model=model, description=read_str(data, "description", required=False))
    return {"registered_model": model_json(selectors.model_for_json(model=model))}


@endpoint("registered-models/delete", "DELETE")
def registered_model_delete(user: AbstractBaseUser, data: dict) -> dict:
    services.registered_model_delete(model=_model(user, data, need=Role.ENGINEER))
    return {}


@endpoint("registered-models/search", "GET", "POST")
def registered_model_search(user: AbstractBaseUser, data: dict) -> dict:
    try:
        search = parse_search(data.get("filter"), _list(data.get("order_by")), versions=False)
    except SearchError as exc:
        raise MlflowError("INVALID_PARAMETER_VALUE", str(exc)) from None
    offset, limit = _page(data, "registered-models")
    where = selectors.NameFilter(search.name_op, search.name_value) if search.name_op else None
    rows = selectors.search_models(
        user=user, where=where, tags=search.tags, order=search.order, offset=offset, limit=limit + 1
    )
    result: dict[str, Any] = {"registered_models": [model_json(m) for m in rows[:limit]]}
    if len(rows) > limit:
        result["next_page_token"] = page_token(offset + limit)
    return result


@endpoint("registered-models/get-latest-versions", "GET", "POST")
def registered_model_latest_versions(user: AbstractBaseUser, data: dict) -> dict:
    """Every version is in stage "None" (MLflow 3 replaced stages by aliases)."""
    model = _model(user, data, need=Role.STAKEHOLDER)
    stages = [s.lower() for s in _list(data.get("stages")) or []]
    latest = selectors.latest_version(model=model)
    keep = latest is not None and (not stages or "none" in stages)
    return {"model_versions": [version_json(latest)] if keep else []}


@endpoint("registered-models/set-tag", "POST")
def registered_model_set_tag(user: AbstractBaseUser, data: dict) -> dict:
    model = _model(user, data, need=Role.ENGINEER)
    services.registered_model_set_tag(model=model, key=read_str(data, "key"), value=str(data.get("value") or ""))
    return {}


@endpoint("registered-models/delete-tag", "DELETE")
def registered_model_delete_tag(user: AbstractBaseUser, data: dict) -> dict:
    services.registered_model_delete_tag(model=_model(user, data, need=Role.ENGINEER), key=read_str(data, "key"))
    return {}


# --- Aliases ------------------------------------------------------------------------------
@endpoint("registered-models/alias", "POST")
def alias_set(user: AbstractBaseUser, data: dict) -> dict:
    """Any alias for engineers and leads; ``champion`` for leads, through the promotion gate."""
    alias = read_str(data, "alias")
    version = _version(user, data, need=Role.ENGINEER)
    model = version.registered_model
    if alias.lower() == CHAMPION_ALIAS:
        require_role(model.project, Role.LEAD, "Only a lead can move @champion: it is the benchmark's champion.")
        champion.champion_alias_set(model=model, version=version, user=user)
    else:
        services.alias_set(model=model, alias=alias, version=version, user=user)
    return {}


@endpoint("registered-models/alias", "DELETE")
def alias_delete(user: AbstractBaseUser, data: dict) -> dict:
    services.alias_delete(model=_model(user, data, need=Role.ENGINEER), alias=read_str(data, "alias"))
    return {}


@endpoint("registered-models/alias", "GET")
def alias_get(user: AbstractBaseUser, data: dict) -> dict:
    model = _model(user, data, need=Role.STAKEHOLDER)
    alias = read_str(data, "alias")
    version = selectors.version_by_alias(model=model, alias=alias)
    if version is None:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Registered model {model.name!r} has no alias {alias!r}.")
    return {"model_version": version_json(version)}


# --- Versions -----------------------------------------------------------------------------
@endpoint("model-versions/create", "POST")
def model_version_create(user: AbstractBaseUser, data: dict) -> dict:
    model = _model(user, data, need=Role.ENGINEER)
    origin = version_source(
        user,
        source=read_str(data, "source"),
        run_id=read_str(data, "run_id", required=False),
        model_id=read_str(data, "model_id", required=False),
    )
    version = services.model_version_create(
        model=model,
        origin=origin,
        user=user,
        description=read_str(data, "description", required=False),
        tags=read_pairs(data.get("tags"), "tags"),
    )
    return {"model_version": version_json(selectors.version_of_model(model=model, version=version.version))}


@endpoint("model-versions/get", "GET")
def model_version_get(user: AbstractBaseUser, data: dict) -> dict:
    return {"model_version": version_json(_version(user, data, need=Role.STAKEHOLDER))}


@endpoint("model-versions/update", "PATCH", "POST")
def model_version_update(user: AbstractBaseUser, data: dict) -> dict:
    version = _version(user, data, need=Role.ENGINEER)
    services.model_version_update(version=version, description=read_str(data, "description", required=False))
    return {"model_version": version_json(version)}


@endpoint("model-versions/delete", "DELETE")
def model_version_delete(user: AbstractBaseUser, data: dict) -> dict:
    services.model_version_delete(version=_version(user, data, need=Role.ENGINEER))
    return {}


@endpoint("model-versions/search", "GET", "POST")
def model_version_search(user: AbstractBaseUser, data: dict) -> dict:
    try:
        search = parse_search(data.get("filter"), _list(data.get("order_by")), versions=True)
    except SearchError as exc:
        raise MlflowError("INVALID_PARAMETER_VALUE", str(exc)) from None
    offset, limit = _page(data, "model-versions")
    where = selectors.NameFilter(search.name_op, search.name_value) if search.name_op else None
    rows = selectors.search_versions(
        user=user,
        where=where,
        tags=search.tags,
        run_ids=search.run_ids,
        order=search.order,
        offset=offset,
        limit=limit + 1,
    )
    result: dict[str, Any] = {"model_versions": [version_json(v) for v in rows[:limit]]}
    if len(rows) > limit:
        result["next_page_token"] = page_token(offset + limit)
    return result


@endpoint("model-versions/get-download-uri", "GET")
def model_version_download_uri(user: AbstractBaseUser, data: dict) -> dict:
    return {"artifact_uri": download_uri(_version(user, data, need=Role.STAKEHOLDER))}


@endpoint("model-versions/transition-stage", "POST")
def model_version_transition_stage(user: AbstractBaseUser, data: dict) -> dict:
    _version(user, data, need=Role.ENGINEER)
    raise MlflowError(
        "INVALID_PARAMETER_VALUE",
        "Model stages are deprecated in MLflow 3 and AgileML does not keep them: use aliases instead "
        "(@challenger and others freely; @champion moves through the promotion gate).",
    )


@endpoint("model-versions/set-tag", "POST")
def model_version_set_tag(user: AbstractBaseUser, data: dict) -> dict:
    version = _version(user, data, need=Role.ENGINEER)
    services.model_version_set_tag(version=version, key=read_str(data, "key"), value=str(data.get("value") or ""))
    return {}


@endpoint("model-versions/delete-tag", "DELETE")
def model_version_delete_tag(user: AbstractBaseUser, data: dict) -> dict:
    services.model_version_delete_tag(version=_version(user, data, need=Role.ENGINEER), key=read_str(data, "key"))
    return {}
