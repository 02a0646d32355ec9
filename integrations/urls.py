from django.urls import path

from integrations.git import views as git_views
from integrations.webhooks import views

urlpatterns = [
    path("p/<str:key>/webhooks/", views.webhooks, name="webhooks"),
    path("p/<str:key>/webhooks/<int:webhook_id>/toggle/", views.webhook_toggle, name="webhook-toggle"),
    path("p/<str:key>/webhooks/<int:webhook_id>/delete/", views.webhook_delete, name="webhook-delete"),
    path(
        "p/<str:key>/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver/",
        views.delivery_redeliver,
        name="delivery-redeliver",
    ),
    path("p/<str:key>/git/secret/", git_views.git_secret, name="git-secret"),
    path("p/<str:key>/git/rules/", git_views.git_rules, name="git-rules"),
    path("t/<str:ticket_key>/git-links/", git_views.ticket_git_links, name="ticket-git-links"),
]
