from django.urls import path

from experiments.dashboards import material_views, share_views, views

urlpatterns = [
    path("p/<str:key>/dashboard/", views.dashboard, name="dashboard"),
    path("p/<str:key>/dashboard/sprint/", views.sprint_dashboard_current, name="dashboard-sprint-current"),
    path("p/<str:key>/dashboard/sprints/<int:sprint_id>/", views.sprint_dashboard, name="dashboard-sprint"),
    path("p/<str:key>/demo/", views.demo, name="demo"),
    path("p/<str:key>/demo/sprints/<int:sprint_id>/", views.sprint_demo, name="demo-sprint"),
    path("p/<str:key>/demo/sprints/<int:sprint_id>/review/", views.sprint_review_edit, name="demo-sprint-review"),
    path("p/<str:key>/demo/material/<int:material_id>/", material_views.demo_material_file, name="demo-material"),
    path("p/<str:key>/share-links/", share_views.share_links, name="share-links"),
    path("p/<str:key>/share-links/<int:link_id>/", share_views.share_link_detail, name="share-link-detail"),
    path("p/<str:key>/share-links/<int:link_id>/revoke/", share_views.share_link_revoke, name="share-link-revoke"),
    path("t/<str:ticket_key>/demo/", material_views.ticket_demo_material, name="ticket-demo-material"),
    path(
        "t/<str:ticket_key>/demo/<int:material_id>/delete/",
        material_views.ticket_demo_material_delete,
        name="ticket-demo-material-delete",
    ),
    # A share link opens its demo page and the pictures on it; nothing else lives under /s/.
    path("s/<str:token>/", share_views.shared_demo, name="shared-demo"),
    path("s/<str:token>/material/<int:material_id>/", share_views.shared_material, name="shared-material"),
]
