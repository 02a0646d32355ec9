"""Pages for runs and the ticket's runs panel, and the MLflow-compatible tracking and artifact APIs."""

import re

from django.urls import path, re_path

from experiments.tracking import mlflow_api, mlflow_artifacts, mlflow_models_api, views

# The MLflow client calls /api/2.0/...; the MLflow web UI calls /ajax-api/2.0/...
_MLFLOW_PREFIXES = ("mlflow/api/2.0", "mlflow/ajax-api/2.0")

urlpatterns = [
    path("p/<str:key>/runs/", views.run_list, name="run-list"),
    path("p/<str:key>/runs/compare/", views.run_compare, name="run-compare"),
    path("p/<str:key>/runs/<int:run_id>/", views.run_detail, name="run-detail"),
    path("p/<str:key>/runs/<int:run_id>/ticket/", views.run_ticket, name="run-ticket"),
    path("p/<str:key>/runs/<int:run_id>/notes/", views.run_notes, name="run-notes"),
    path("p/<str:key>/runs/<int:run_id>/artifacts/<path:path>", views.run_artifact, name="run-artifact"),
    path("p/<str:key>/runs/<int:run_id>/models/<str:model_id>.zip", views.run_model_download, name="run-model-zip"),
    path("t/<str:ticket_key>/runs/", views.ticket_runs, name="ticket-runs"),
    path("t/<str:ticket_key>/runs/attach/", views.ticket_runs_attach, name="ticket-runs-attach"),
    path("t/<str:ticket_key>/runs/<int:run_id>/detach/", views.ticket_runs_detach, name="ticket-runs-detach"),
    # MLflow: the printed links, then the tracking and artifact APIs.
    path("mlflow/", views.mlflow_home, name="mlflow-home"),
    path("mlflow/runs/<str:run_uuid>/", views.mlflow_run_redirect, name="mlflow-run"),
    path("mlflow/experiments/<str:experiment_id>/", views.mlflow_experiment_redirect, name="mlflow-experiment"),
    path("mlflow/api/3.0/mlflow/server-info", mlflow_api.server_info, name="mlflow-server-info"),
    re_path(r"^mlflow/api/3\.0/mlflow/traces(?:/.*)?$", mlflow_api.traces_refused, name="mlflow-traces"),
    # The project-scoped tracking URI, /mlflow/<KEY>: every experiment name lives in project KEY.
    path("mlflow/<str:key>/", views.mlflow_home, name="mlflow-project-home"),
    path("mlflow/<str:key>/api/3.0/mlflow/server-info", mlflow_api.server_info, name="mlflow-project-server-info"),
    re_path(
        r"^mlflow/(?P<key>[^/]+)/api/3\.0/mlflow/traces(?:/.*)?$",
        mlflow_api.traces_refused,
        name="mlflow-project-traces",
    ),
    path(
        "mlflow/<str:key>/api/2.0/mlflow-artifacts/artifacts",
        mlflow_artifacts.artifact_list,
        name="mlflow-project-artifact-list",
    ),
    re_path(
        r"^mlflow/(?P<key>[^/]+)/api/2\.0/mlflow-artifacts/artifacts/(?P<path>.+)$",
        mlflow_artifacts.artifact,
        name="mlflow-project-artifact",
    ),
    path("mlflow/<str:key>/api/2.0/mlflow/<path:path>", mlflow_api.dispatch, name="mlflow-project-api"),
]
assert mlflow_models_api.logged_model_search  # registers the logged-model endpoints with the dispatcher
for _prefix in _MLFLOW_PREFIXES:
    _name = "mlflow" if "ajax" not in _prefix else "mlflow-ajax"
    urlpatterns += [
        path(f"{_prefix}/mlflow-artifacts/artifacts", mlflow_artifacts.artifact_list, name=f"{_name}-artifact-list"),
        re_path(
            rf"^{re.escape(_prefix)}/mlflow-artifacts/artifacts/(?P<path>.+)$",
            mlflow_artifacts.artifact,
            name=f"{_name}-artifact",
        ),
        path(f"{_prefix}/mlflow/<path:path>", mlflow_api.dispatch, name=f"{_name}-api"),
    ]
