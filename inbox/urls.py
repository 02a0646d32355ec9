from django.urls import path

from inbox import views

urlpatterns = [
    path("p/<str:key>/search/", views.project_search, name="project-search"),
    path("inbox/", views.inbox_page, name="inbox"),
    path("inbox/count/", views.inbox_count, name="inbox-count"),
    path("inbox/read-all/", views.notifications_read_all, name="inbox-read-all"),
    path("inbox/<str:notification_id>/open/", views.notification_open, name="notification-open"),
    path("t/<str:ticket_key>/watch/", views.ticket_watch, name="ticket-watch"),
    path("account/notifications/", views.notification_preferences, name="account-notifications"),
]
