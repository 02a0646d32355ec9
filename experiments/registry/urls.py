"""The model pages, and MLflow's registry endpoints (ahead of tracking's catch-all MLflow route)."""

from django.urls import path, re_path

from experiments.registry import mlflow_api, views

urlpatterns = [
    path("p/<str:key>/models/", views.model_list, name="model-list"),
    path("p/<str:key>/models/<str:model_name>/", views.model_detail, name="model-detail"),
]
for _prefix, _name in (
    (r"mlflow/api/2\.0", "mlflow-registry"),
    (r"mlflow/ajax-api/2\.0", "mlflow-ajax-registry"),
    # The project-scoped tracking URI, /mlflow/<KEY> (experiments/tracking/urls.py).
    (r"mlflow/(?P<key>[^/]+)/api/2\.0", "mlflow-project-registry"),
):
    urlpatterns.append(
        re_path(
            rf"^{_prefix}/mlflow/(?P<path>(?:registered-models|model-versions)/[\w/-]*)$",
            mlflow_api.dispatch,
            name=_name,
        )
    )
