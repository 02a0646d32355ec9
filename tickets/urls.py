from django.urls import path

from tickets import views

urlpatterns = [
    path("", views.home, name="home"),
    path("projects/", views.project_list, name="project-list"),
    path("p/<str:key>/", views.project_home, name="project-home"),
    path("p/<str:key>/members/", views.members, name="members"),
    path("p/<str:key>/members/<str:username>/role/", views.member_role, name="member-role"),
    path("p/<str:key>/members/<str:username>/remove/", views.member_remove, name="member-remove"),
    # Planning
    path("p/<str:key>/backlog/", views.backlog, name="backlog"),
    path("p/<str:key>/backlog/tickets/", views.ticket_quick_create, name="ticket-quick-create"),
    path("p/<str:key>/board/", views.board, name="board"),
    path("p/<str:key>/tickets/new/", views.ticket_create, name="ticket-create"),
    path("p/<str:key>/epics/", views.epic_list, name="epic-list"),
    path("p/<str:key>/epics/<int:epic_id>/", views.epic_detail, name="epic-detail"),
    path("p/<str:key>/epics/<int:epic_id>/delete/", views.epic_delete, name="epic-delete"),
    path("p/<str:key>/sprints/", views.sprint_list, name="sprint-list"),
    path("p/<str:key>/sprints/<int:sprint_id>/", views.sprint_detail, name="sprint-detail"),
    path("p/<str:key>/sprints/<int:sprint_id>/start/", views.sprint_start, name="sprint-start"),
    path("p/<str:key>/sprints/<int:sprint_id>/close/", views.sprint_close, name="sprint-close"),
    path("p/<str:key>/sprints/<int:sprint_id>/delete/", views.sprint_delete, name="sprint-delete"),
    path("t/<str:ticket_key>/", views.ticket_detail, name="ticket-detail"),
    path("t/<str:ticket_key>/edit/", views.ticket_edit, name="ticket-edit"),
    path("t/<str:ticket_key>/status/", views.ticket_status, name="ticket-status"),
    path("t/<str:ticket_key>/answer/", views.ticket_answer, name="ticket-answer"),
    path("t/<str:ticket_key>/comments/", views.ticket_comment, name="ticket-comment"),
    path("t/<str:ticket_key>/comments/<int:comment_id>/delete/", views.comment_delete, name="comment-delete"),
    path("t/<str:ticket_key>/reassess/", views.ticket_reassess, name="ticket-reassess"),
    path("t/<str:ticket_key>/delete/", views.ticket_delete, name="ticket-delete"),
]
