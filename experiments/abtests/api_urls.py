from django.urls import path

from experiments.abtests import api

urlpatterns = [
    path("benchmarks/<str:benchmark_id>/abtests/", api.BenchmarkTestsApi.as_view(), name="api-benchmark-abtests"),
    path("abtests/<str:abtest_id>/", api.TestDetailApi.as_view(), name="api-abtest-detail"),
    path("abtests/<str:abtest_id>/start/", api.TestStartApi.as_view(), name="api-abtest-start"),
    path("abtests/<str:abtest_id>/stop/", api.TestStopApi.as_view(), name="api-abtest-stop"),
    path("abtests/<str:abtest_id>/assign/", api.AssignApi.as_view(), name="api-abtest-assign"),
    path("abtests/<str:abtest_id>/events/", api.EventsApi.as_view(), name="api-abtest-events"),
]
