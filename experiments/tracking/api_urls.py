"""REST API for runs."""

from django.urls import path

from experiments.tracking import api, autocomplete_api

urlpatterns = [
    path("projects/<str:key>/runs/", api.RunListApi.as_view(), name="api-run-list"),
    path(
        "projects/<str:key>/autocomplete/runs/",
        autocomplete_api.RunAutocompleteApi.as_view(),
        name="api-autocomplete-runs",
    ),
    path("projects/<str:key>/runs/export/", api.RunExportApi.as_view(), name="api-run-export"),
    path("runs/<str:run_id>/", api.RunDetailApi.as_view(), name="api-run-detail"),
    path("runs/<str:run_id>/metrics/<path:key>/", api.MetricHistoryApi.as_view(), name="api-run-metric"),
]
