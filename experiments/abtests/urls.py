from django.urls import path

from experiments.abtests import views

urlpatterns = [
    path("p/<str:key>/abtests/", views.project_abtests, name="project-abtests"),
    path("p/<str:key>/abtests/<int:abtest_id>/", views.abtest_detail, name="abtest-detail"),
    path("p/<str:key>/abtests/<int:abtest_id>/body/", views.abtest_body, name="abtest-body"),
    path("p/<str:key>/abtests/<int:abtest_id>/start/", views.abtest_start, name="abtest-start"),
    path("p/<str:key>/abtests/<int:abtest_id>/stop/", views.abtest_stop, name="abtest-stop"),
    path("p/<str:key>/abtests/<int:abtest_id>/upload/", views.abtest_upload, name="abtest-upload"),
    path("p/<str:key>/benchmarks/<int:benchmark_id>/abtests/", views.benchmark_abtests, name="benchmark-abtests"),
    path("p/<str:key>/benchmarks/<int:benchmark_id>/abtests/new/", views.abtest_create, name="abtest-create"),
    path("t/<str:ticket_key>/abtests/", views.ticket_abtests, name="ticket-abtests"),
]
