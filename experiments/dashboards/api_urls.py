from django.urls import path

from experiments.dashboards import api

urlpatterns = [
    path("projects/<str:key>/share-links/", api.ShareLinkListApi.as_view(), name="api-share-link-list"),
    path(
        "projects/<str:key>/share-links/<int:link_id>/", api.ShareLinkDetailApi.as_view(), name="api-share-link-detail"
    ),
    path(
        "projects/<str:key>/share-links/<int:link_id>/revoke/",
        api.ShareLinkRevokeApi.as_view(),
        name="api-share-link-revoke",
    ),
]
