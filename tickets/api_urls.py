from django.urls import path

from tickets import api, autocomplete_api, planning_api, ticket_api

urlpatterns = [
    path("projects/", api.ProjectListApi.as_view(), name="api-project-list"),
    path("projects/<str:key>/", api.ProjectDetailApi.as_view(), name="api-project-detail"),
    path("projects/<str:key>/members/", api.MemberListApi.as_view(), name="api-member-list"),
    path("projects/<str:key>/members/<str:username>/", api.MemberDetailApi.as_view(), name="api-member-detail"),
    path(
        "projects/<str:key>/autocomplete/tickets/",
        autocomplete_api.TicketAutocompleteApi.as_view(),
        name="api-autocomplete-tickets",
    ),
    path(
        "projects/<str:key>/autocomplete/members/",
        autocomplete_api.MemberAutocompleteApi.as_view(),
        name="api-autocomplete-members",
    ),
    path("projects/<str:key>/epics/", planning_api.EpicListApi.as_view(), name="api-epic-list"),
    path("projects/<str:key>/epics/<int:epic_id>/", planning_api.EpicDetailApi.as_view(), name="api-epic-detail"),
    path("projects/<str:key>/sprints/", planning_api.SprintListApi.as_view(), name="api-sprint-list"),
    path(
        "projects/<str:key>/sprints/<int:sprint_id>/", planning_api.SprintDetailApi.as_view(), name="api-sprint-detail"
    ),
    path(
        "projects/<str:key>/sprints/<int:sprint_id>/start/",
        planning_api.SprintStartApi.as_view(),
        name="api-sprint-start",
    ),
    path(
        "projects/<str:key>/sprints/<int:sprint_id>/close/",
        planning_api.SprintCloseApi.as_view(),
        name="api-sprint-close",
    ),
    path("projects/<str:key>/tickets/", ticket_api.TicketListApi.as_view(), name="api-ticket-list"),
    path("projects/<str:key>/tickets/export/", ticket_api.TicketExportApi.as_view(), name="api-ticket-export"),
    path("projects/<str:key>/tickets/move/", ticket_api.TicketMoveApi.as_view(), name="api-ticket-move"),
    path("tickets/<str:ticket_key>/", ticket_api.TicketDetailApi.as_view(), name="api-ticket-detail"),
    path("tickets/<str:ticket_key>/events/", ticket_api.TicketEventListApi.as_view(), name="api-ticket-events"),
    path("tickets/<str:ticket_key>/comments/", ticket_api.CommentListApi.as_view(), name="api-comment-list"),
    path(
        "tickets/<str:ticket_key>/comments/<int:comment_id>/",
        ticket_api.CommentDetailApi.as_view(),
        name="api-comment-detail",
    ),
    path("tickets/<str:ticket_key>/answer/", ticket_api.TicketAnswerApi.as_view(), name="api-ticket-answer"),
    path("tickets/<str:ticket_key>/reassess/", ticket_api.TicketReassessApi.as_view(), name="api-ticket-reassess"),
]
