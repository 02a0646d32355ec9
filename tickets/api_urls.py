from django.urls import path

from tickets import api

urlpatterns = [
    path("auth/token/", api.TokenApi.as_view(), name="api-token"),
    path("projects/", api.ProjectListApi.as_view(), name="api-project-list"),
    path("projects/<str:key>/", api.ProjectDetailApi.as_view(), name="api-project-detail"),
    path("projects/<str:key>/members/", api.MemberListApi.as_view(), name="api-member-list"),
    path("projects/<str:key>/members/<str:username>/", api.MemberDetailApi.as_view(), name="api-member-detail"),
    path("projects/<str:key>/epics/", api.EpicListApi.as_view(), name="api-epic-list"),
    path("projects/<str:key>/epics/<int:epic_id>/", api.EpicDetailApi.as_view(), name="api-epic-detail"),
    path("projects/<str:key>/sprints/", api.SprintListApi.as_view(), name="api-sprint-list"),
    path("projects/<str:key>/sprints/<int:sprint_id>/", api.SprintDetailApi.as_view(), name="api-sprint-detail"),
    path("projects/<str:key>/sprints/<int:sprint_id>/start/", api.SprintStartApi.as_view(), name="api-sprint-start"),
    path("projects/<str:key>/sprints/<int:sprint_id>/close/", api.SprintCloseApi.as_view(), name="api-sprint-close"),
    path("projects/<str:key>/tickets/", api.TicketListApi.as_view(), name="api-ticket-list"),
    path("projects/<str:key>/tickets/move/", api.TicketMoveApi.as_view(), name="api-ticket-move"),
    path("tickets/<str:ticket_key>/", api.TicketDetailApi.as_view(), name="api-ticket-detail"),
    path("tickets/<str:ticket_key>/events/", api.TicketEventListApi.as_view(), name="api-ticket-events"),
    path("tickets/<str:ticket_key>/comments/", api.CommentListApi.as_view(), name="api-comment-list"),
    path(
        "tickets/<str:ticket_key>/comments/<int:comment_id>/",
        api.CommentDetailApi.as_view(),
        name="api-comment-detail",
    ),
    path("tickets/<str:ticket_key>/answer/", api.TicketAnswerApi.as_view(), name="api-ticket-answer"),
    path("tickets/<str:ticket_key>/reassess/", api.TicketReassessApi.as_view(), name="api-ticket-reassess"),
]
