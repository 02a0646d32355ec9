from django.urls import path

from experiments import api

urlpatterns = [
    path("projects/<str:key>/runs/", api.RunListApi.as_view(), name="api-run-list"),
    path("runs/<str:run_id>/", api.RunDetailApi.as_view(), name="api-run-detail"),
    path("runs/<str:run_id>/metrics/<path:key>/", api.MetricHistoryApi.as_view(), name="api-run-metric"),
]

# Share links of the stakeholder demo.
from experiments.dashboards_api_urls import urlpatterns as _dashboard_api_urls  # noqa: E402

urlpatterns += _dashboard_api_urls
