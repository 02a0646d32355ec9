from django.urls import path

from tickets import planning_views, ticket_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("projects/", views.project_list, name="project-list"),
    path("p/<str:key>/", views.project_home, name="project-home"),
    path("p/<str:key>/members/", views.members, name="members"),
    path("p/<str:key>/members/<str:username>/role/", views.member_role, name="member-role"),
    path("p/<str:key>/members/<str:username>/remove/", views.member_remove, name="member-remove"),
    path("p/<str:key>/import/jira/", views.import_jira, name="import-jira"),
    # Planning
    path("p/<str:key>/backlog/", planning_views.backlog, name="backlog"),
    path("p/<str:key>/backlog/tickets/", planning_views.ticket_quick_create, name="ticket-quick-create"),
    path("p/<str:key>/backlog/rows/", planning_views.backlog_rows, name="backlog-rows"),
    path(
        "p/<str:key>/backlog/sprints/<int:sprint_id>/rows/",
        planning_views.backlog_sprint_rows,
        name="backlog-sprint-rows",
    ),
    path("p/<str:key>/board/", planning_views.board, name="board"),
    path("p/<str:key>/board/<int:sprint_id>/cards/", planning_views.board_cards, name="board-cards"),
    path("p/<str:key>/tickets/new/", ticket_views.ticket_create, name="ticket-create"),
    path("p/<str:key>/epics/", planning_views.epic_list, name="epic-list"),
    path("p/<str:key>/epics/<int:epic_id>/", planning_views.epic_detail, name="epic-detail"),
    path("p/<str:key>/epics/<int:epic_id>/delete/", planning_views.epic_delete, name="epic-delete"),
    path("p/<str:key>/sprints/", planning_views.sprint_list, name="sprint-list"),
    path("p/<str:key>/sprints/<int:sprint_id>/", planning_views.sprint_detail, name="sprint-detail"),
    path("p/<str:key>/sprints/<int:sprint_id>/start/", planning_views.sprint_start, name="sprint-start"),
    path("p/<str:key>/sprints/<int:sprint_id>/close/", planning_views.sprint_close, name="sprint-close"),
    path("p/<str:key>/sprints/<int:sprint_id>/delete/", planning_views.sprint_delete, name="sprint-delete"),
    path("t/<str:ticket_key>/", ticket_views.ticket_detail, name="ticket-detail"),
    path("t/<str:ticket_key>/edit/", ticket_views.ticket_edit, name="ticket-edit"),
    path("t/<str:ticket_key>/status/", ticket_views.ticket_status, name="ticket-status"),
    path("t/<str:ticket_key>/answer/", ticket_views.ticket_answer, name="ticket-answer"),
    path("t/<str:ticket_key>/comments/", ticket_views.ticket_comment, name="ticket-comment"),
    path("t/<str:ticket_key>/comments/<int:comment_id>/delete/", ticket_views.comment_delete, name="comment-delete"),
    path("t/<str:ticket_key>/reassess/", ticket_views.ticket_reassess, name="ticket-reassess"),
    path("t/<str:ticket_key>/delete/", ticket_views.ticket_delete, name="ticket-delete"),
]
