from django.urls import path

from inbox import api

urlpatterns = [
    path("projects/<str:key>/search/", api.ProjectSearchApi.as_view(), name="api-project-search"),
    path("notifications/", api.NotificationListApi.as_view(), name="api-notification-list"),
    path("notifications/read-all/", api.NotificationReadAllApi.as_view(), name="api-notification-read-all"),
    path("notifications/<str:notification_id>/read/", api.NotificationReadApi.as_view(), name="api-notification-read"),
]
