from django.urls import path

from experiments import api, benchmark_api_urls, dashboards_api_urls

urlpatterns = [
    path("projects/<str:key>/runs/", api.RunListApi.as_view(), name="api-run-list"),
    path("runs/<str:run_id>/", api.RunDetailApi.as_view(), name="api-run-detail"),
    path("runs/<str:run_id>/metrics/<path:key>/", api.MetricHistoryApi.as_view(), name="api-run-metric"),
]

# Benchmarks, datasets, evaluations, promotions and a run's predictions.
urlpatterns += benchmark_api_urls.urlpatterns
# Share links of the stakeholder demo.
urlpatterns += dashboards_api_urls.urlpatterns
