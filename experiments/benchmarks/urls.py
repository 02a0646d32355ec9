from django.urls import path

from experiments.benchmarks import evaluation_views, views

urlpatterns = [
    path("p/<str:key>/benchmarks/", views.benchmark_list, name="benchmark-list"),
    path("p/<str:key>/benchmarks/new/", views.benchmark_create, name="benchmark-create"),
    path("p/<str:key>/benchmarks/<int:benchmark_id>/", views.benchmark_detail, name="benchmark-detail"),
    path("p/<str:key>/benchmarks/<int:benchmark_id>/edit/", views.benchmark_edit, name="benchmark-edit"),
    path("p/<str:key>/benchmarks/<int:benchmark_id>/curves/", views.benchmark_curves, name="benchmark-curves"),
    path("p/<str:key>/benchmarks/<int:benchmark_id>/datasets/", views.benchmark_datasets, name="benchmark-datasets"),
    path("p/<str:key>/benchmarks/<int:benchmark_id>/submit/", views.benchmark_submit, name="benchmark-submit"),
    path("p/<str:key>/evaluations/<int:evaluation_id>/", evaluation_views.evaluation_detail, name="evaluation-detail"),
    path(
        "p/<str:key>/evaluations/<int:evaluation_id>/status/",
        evaluation_views.evaluation_status,
        name="evaluation-status",
    ),
    path(
        "p/<str:key>/evaluations/<int:evaluation_id>/promote/",
        evaluation_views.evaluation_promote,
        name="evaluation-promote",
    ),
    path(
        "p/<str:key>/evaluations/<int:evaluation_id>/rerun/", evaluation_views.evaluation_rerun, name="evaluation-rerun"
    ),
    path("p/<str:key>/runs/<int:run_id>/evaluations/", views.run_evaluations, name="run-evaluations"),
    path("t/<str:ticket_key>/evaluations/", views.ticket_evaluations, name="ticket-evaluations"),
]
