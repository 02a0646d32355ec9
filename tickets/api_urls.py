from django.urls import path

from tickets import api

urlpatterns = [
    path("auth/token/", api.TokenApi.as_view(), name="api-token"),
    path("projects/", api.ProjectListApi.as_view(), name="api-project-list"),
    path("projects/<str:key>/", api.ProjectDetailApi.as_view(), name="api-project-detail"),
    path("projects/<str:key>/members/", api.MemberListApi.as_view(), name="api-member-list"),
    path("projects/<str:key>/members/<str:username>/", api.MemberDetailApi.as_view(), name="api-member-detail"),
]
