from django.urls import path

from experiments.benchmarks import api, evaluation_set_api

urlpatterns = [
    path("projects/<str:key>/benchmarks/", api.BenchmarkListApi.as_view(), name="api-benchmark-list"),
    path("benchmarks/<str:benchmark_id>/", api.BenchmarkDetailApi.as_view(), name="api-benchmark-detail"),
    path("benchmarks/<str:benchmark_id>/datasets/", api.DatasetListApi.as_view(), name="api-benchmark-datasets"),
    path(
        "benchmarks/<str:benchmark_id>/datasets/<str:version>/",
        api.DatasetDetailApi.as_view(),
        name="api-benchmark-dataset",
    ),
    path(
        "benchmarks/<str:benchmark_id>/datasets/<str:version>/ids/",
        evaluation_set_api.DatasetIdsApi.as_view(),
        name="api-benchmark-dataset-ids",
    ),
    path(
        "benchmarks/<str:benchmark_id>/datasets/<str:version>/template/",
        evaluation_set_api.DatasetTemplateApi.as_view(),
        name="api-benchmark-dataset-template",
    ),
    path(
        "benchmarks/<str:benchmark_id>/datasets/<str:version>/truth/",
        evaluation_set_api.DatasetTruthApi.as_view(),
        name="api-benchmark-dataset-truth",
    ),
    path(
        "benchmarks/<str:benchmark_id>/evaluations/export/",
        evaluation_set_api.EvaluationExportApi.as_view(),
        name="api-benchmark-evaluations-export",
    ),
    path(
        "benchmarks/<str:benchmark_id>/champion-history/",
        api.ChampionHistoryApi.as_view(),
        name="api-benchmark-champion-history",
    ),
    path(
        "benchmarks/<str:benchmark_id>/champion-history/export/",
        evaluation_set_api.ChampionHistoryExportApi.as_view(),
        name="api-benchmark-history-export",
    ),
    path(
        "benchmarks/<str:benchmark_id>/evaluations/", api.EvaluationListApi.as_view(), name="api-benchmark-evaluations"
    ),
    path("benchmarks/<str:benchmark_id>/promote/", api.PromoteApi.as_view(), name="api-benchmark-promote"),
    path("evaluations/<str:evaluation_id>/", api.EvaluationDetailApi.as_view(), name="api-evaluation-detail"),
    path("runs/<str:run_id>/predictions/", api.RunPredictionsApi.as_view(), name="api-run-predictions"),
]
