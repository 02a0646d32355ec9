from django.urls import path

from integrations.git import api as git_api
from integrations.webhooks import api

urlpatterns = [
    path("projects/<str:key>/webhooks/", api.WebhookListApi.as_view(), name="api-webhook-list"),
    path("projects/<str:key>/webhooks/<int:webhook_id>/", api.WebhookDetailApi.as_view(), name="api-webhook-detail"),
    path(
        "projects/<str:key>/webhooks/<int:webhook_id>/deliveries/",
        api.DeliveryListApi.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "projects/<str:key>/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver/",
        api.DeliveryRedeliverApi.as_view(),
        name="api-delivery-redeliver",
    ),
    path("projects/<str:key>/git/", git_api.GitEventsApi.as_view(), name="api-git-events"),
]
