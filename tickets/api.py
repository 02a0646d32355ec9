"""REST API for projects, members and planning. Thin: validate → access helper → service/selector."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agileml.api import ErrorSerializer, Pagination
from tickets import selectors, services
from tickets.access import (
    comment_for_user,
    epic_for_user,
    id_or_none,
    project_for_user,
    require_role,
    sprint_for_user,
    ticket_for_user,
)
from tickets.markdown import render_markdown
from tickets.models import (
    Comment,
    Decision,
    Epic,
    EpicStatus,
    Membership,
    Outcome,
    Project,
    Role,
    Sprint,
    SprintState,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketStatus,
    WorkType,
)

E400 = OpenApiResponse(ErrorSerializer, description="The input is invalid; the message names the field.")
E401 = OpenApiResponse(ErrorSerializer, description="Not authenticated, or the token is invalid.")
E403 = OpenApiResponse(ErrorSerializer, description="Your role in this project does not allow this.")
E404 = OpenApiResponse(ErrorSerializer, description="No such object, or you are not a member of its project.")


# --- Auth -------------------------------------------------------------------------------
class TokenInput(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenOutput(serializers.Serializer):
    token = serializers.CharField()


class TokenApi(APIView):
    """Exchange a username and password for an API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=TokenInput,
        responses={200: TokenOutput, 400: E400},
        auth=[],
        summary="Get an API token",
    )
    def post(self, request: Request) -> Response:
        data = TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, **data.validated_data)
        if user is None:
            raise serializers.ValidationError({"password": ["Unknown username or wrong password."]})
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


# --- Projects ---------------------------------------------------------------------------
class ProjectOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices, help_text="Your role in this project.")
    member_count = serializers.IntegerField()


class ProjectCreateInput(serializers.Serializer):
    key = serializers.CharField(max_length=10, help_text="2–10 upper-case letters or digits, e.g. AUTH.")
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class ProjectUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(required=False, allow_blank=True)


def _project_out(project: Project, role: str, member_count: int) -> dict:
    return {
        "key": project.key,
        "name": project.name,
        "description": project.description,
        "role": role,
        "member_count": member_count,
    }


class ProjectListApi(APIView):
    @extend_schema(responses={200: ProjectOutput(many=True), 401: E401}, summary="Projects you are a member of")
    def get(self, request: Request) -> Response:
        rows = selectors.memberships_for_user(user=request.user)
        return Response([_project_out(m.project, m.role, m.member_count) for m in rows])

    @extend_schema(
        request=ProjectCreateInput,
        responses={201: ProjectOutput, 400: E400, 401: E401},
        summary="Create a project (you become its lead)",
    )
    def post(self, request: Request) -> Response:
        data = ProjectCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        project = services.project_create(**data.validated_data, lead=request.user)
        return Response(_project_out(project, Role.LEAD, 1), status=status.HTTP_201_CREATED)


class ProjectDetailApi(APIView):
    @extend_schema(responses={200: ProjectOutput, 401: E401, 404: E404}, summary="One project")
    def get(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key)
        return Response(_project_out(project, project.role, project.memberships.count()))

    @extend_schema(
        request=ProjectUpdateInput,
        responses={200: ProjectOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Rename or describe a project (leads)",
    )
    def patch(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key, need=Role.LEAD)
        data = ProjectUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.project_update(project=project, **data.validated_data)
        return Response(_project_out(project, project.role, project.memberships.count()))


# --- Members ----------------------------------------------------------------------------
class MemberOutput(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    full_name = serializers.CharField(source="user.get_full_name")
    role = serializers.ChoiceField(choices=Role.choices)
    joined_at = serializers.DateTimeField(source="created_at")


class MemberAddInput(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)


class MemberUpdateInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class MemberListApi(APIView):
    @extend_schema(responses={200: MemberOutput(many=True), 401: E401, 404: E404}, summary="Project members")
    def get(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key)
        return Response(MemberOutput(selectors.memberships_of_project(project=project), many=True).data)

    @extend_schema(
        request=MemberAddInput,
        responses={201: MemberOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Add a member (leads)",
    )
    def post(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key, need=Role.LEAD)
        data = MemberAddInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.membership_add(project=project, **data.validated_data)
        return Response(MemberOutput(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailApi(APIView):
    def _membership(self, request: Request, key: str, username: str, need: Role) -> Membership:
        project = project_for_user(request.user, key, need=need)
        try:
            return selectors.membership_get(project=project, username=username)
        except Membership.DoesNotExist:
            from django.http import Http404

            raise Http404(f"{username} is not a member of {key}.") from None

    @extend_schema(responses={200: MemberOutput, 401: E401, 404: E404}, summary="One member")
    def get(self, request: Request, key: str, username: str) -> Response:
        return Response(MemberOutput(self._membership(request, key, username, Role.STAKEHOLDER)).data)

    @extend_schema(
        request=MemberUpdateInput,
        responses={200: MemberOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Change a member's role (leads)",
    )
    def patch(self, request: Request, key: str, username: str) -> Response:
        membership = self._membership(request, key, username, Role.LEAD)
        data = MemberUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.membership_change_role(membership=membership, role=data.validated_data["role"])
        return Response(MemberOutput(membership).data)

    @extend_schema(
        responses={204: None, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Remove a member (leads; never the last lead)",
    )
    def delete(self, request: Request, key: str, username: str) -> Response:
        membership = self._membership(request, key, username, Role.LEAD)
        services.membership_remove(membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


# ======================================================================================
# Planning: epics, sprints, tickets, moves, comments, answers, reassessments.
# Roles: stakeholders read; engineers create and work tickets, answer and comment;
# leads plan (epics, sprints, ranks, moving tickets between sprints) and reassess.
# ======================================================================================
PLANNING_IS_FOR_LEADS = "Only a lead plans sprints: leave sprint out (the ticket goes to the backlog) or ask a lead."


def _page_params() -> list[OpenApiParameter]:
    return [
        OpenApiParameter("page", int, description="Page number (from 1)."),
        OpenApiParameter("page_size", int, description="Results per page (default 50, at most 500)."),
    ]


def _ref_epic(project: Project, epic_id: int | None, field: str = "epic") -> Epic | None:
    if epic_id is None:
        return None
    epic = selectors.epic_in_project(project=project, epic_id=epic_id)
    if epic is None:
        raise serializers.ValidationError({field: [f"There is no epic {epic_id} in {project.key}."]})
    return epic


def _ref_sprint(project: Project, sprint_id: int | None, field: str = "sprint") -> Sprint | None:
    if sprint_id is None:
        return None
    sprint = selectors.sprint_in_project(project=project, sprint_id=sprint_id)
    if sprint is None:
        raise serializers.ValidationError({field: [f"There is no sprint {sprint_id} in {project.key}."]})
    return sprint


def _ref_member(project: Project, username: str | None, field: str = "assignee"):
    if not username:
        return None
    user = selectors.member_user(project=project, username=username)
    if user is None:
        raise serializers.ValidationError({field: [f"{username} is not a member of {project.key}."]})
    return user


# --- Epics ------------------------------------------------------------------------------
class EpicOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    goal = serializers.CharField(help_text="The business outcome this epic should achieve.")
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=EpicStatus.choices)
    order = serializers.IntegerField()
    ticket_count = serializers.IntegerField()
    done_count = serializers.IntegerField()
    skipped_count = serializers.IntegerField()
    progress = serializers.FloatField(
        allow_null=True, help_text="Done tickets over tickets not skipped (0–1); null while the epic has none."
    )


class EpicCreateInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    goal = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(choices=EpicStatus.choices, required=False, default=EpicStatus.OPEN)


class EpicUpdateInput(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    goal = serializers.CharField(required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=EpicStatus.choices, required=False)
    order = serializers.IntegerField(min_value=0, required=False)


class EpicListApi(APIView):
    @extend_schema(responses={200: EpicOutput(many=True), 401: E401, 404: E404}, summary="Epics with their progress")
    def get(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key)
        return Response(EpicOutput(selectors.epics_of_project(project=project), many=True).data)

    @extend_schema(
        request=EpicCreateInput,
        responses={201: EpicOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Create an epic (leads)",
    )
    def post(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key, need=Role.LEAD)
        data = EpicCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        epic = services.epic_create(project=project, **data.validated_data)
        return Response(EpicOutput(selectors.epic_with_progress(epic=epic)).data, status=status.HTTP_201_CREATED)


class EpicDetailApi(APIView):
    @extend_schema(responses={200: EpicOutput, 401: E401, 404: E404}, summary="One epic")
    def get(self, request: Request, key: str, epic_id: int) -> Response:
        epic = epic_for_user(request.user, key, epic_id)
        return Response(EpicOutput(selectors.epic_with_progress(epic=epic)).data)

    @extend_schema(
        request=EpicUpdateInput,
        responses={200: EpicOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Change an epic (leads)",
    )
    def patch(self, request: Request, key: str, epic_id: int) -> Response:
        epic = epic_for_user(request.user, key, epic_id, need=Role.LEAD)
        data = EpicUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.epic_update(epic=epic, **data.validated_data)
        return Response(EpicOutput(selectors.epic_with_progress(epic=epic)).data)

    @extend_schema(
        responses={204: None, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Delete an epic without tickets (leads)",
    )
    def delete(self, request: Request, key: str, epic_id: int) -> Response:
        epic = epic_for_user(request.user, key, epic_id, need=Role.LEAD)
        services.epic_delete(epic=epic)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Sprints ----------------------------------------------------------------------------
class SprintOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    goal = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    state = serializers.ChoiceField(choices=SprintState.choices)
    started_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    committed = serializers.ListField(
        child=serializers.CharField(), allow_null=True, help_text="Ticket keys in the sprint when it started."
    )
    snapshot = serializers.JSONField(
        allow_null=True,
        help_text="Frozen at close: ticket keys committed, added, removed, completed, skipped and carried_over, "
        "their counts, and carried_to (the sprint unfinished work went to; null for the backlog).",
    )
    ticket_count = serializers.IntegerField()
    done_count = serializers.IntegerField()
    skipped_count = serializers.IntegerField()


class SprintCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    goal = serializers.CharField(required=False, allow_blank=True, default="")
    start_date = serializers.DateField()
    end_date = serializers.DateField()


class SprintUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    goal = serializers.CharField(required=False, allow_blank=True)
    start_date = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False)


class SprintCloseInput(serializers.Serializer):
    carry_over_to = serializers.IntegerField(
        allow_null=True,
        help_text="Where unfinished tickets go: the id of a planned sprint, or null for the backlog. Required.",
    )


def _sprint_out(sprint: Sprint) -> dict:
    counted = selectors.sprints_of_project(project=sprint.project).get(pk=sprint.pk)
    return SprintOutput(counted).data


class SprintListApi(APIView):
    @extend_schema(
        responses={200: SprintOutput(many=True), 401: E401, 404: E404},
        summary="Sprints: active, then planned, then closed (newest first)",
    )
    def get(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key)
        return Response(SprintOutput(selectors.sprints_of_project(project=project), many=True).data)

    @extend_schema(
        request=SprintCreateInput,
        responses={201: SprintOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Plan a sprint (leads)",
    )
    def post(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key, need=Role.LEAD)
        data = SprintCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        sprint = services.sprint_create(project=project, **data.validated_data)
        return Response(_sprint_out(sprint), status=status.HTTP_201_CREATED)


class SprintDetailApi(APIView):
    @extend_schema(responses={200: SprintOutput, 401: E401, 404: E404}, summary="One sprint")
    def get(self, request: Request, key: str, sprint_id: int) -> Response:
        return Response(_sprint_out(sprint_for_user(request.user, key, sprint_id)))

    @extend_schema(
        request=SprintUpdateInput,
        responses={200: SprintOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Change a sprint's name, goal or dates (leads)",
    )
    def patch(self, request: Request, key: str, sprint_id: int) -> Response:
        sprint = sprint_for_user(request.user, key, sprint_id, need=Role.LEAD)
        data = SprintUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.sprint_update(sprint=sprint, **data.validated_data)
        return Response(_sprint_out(sprint))

    @extend_schema(
        responses={204: None, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Delete a planned sprint; its tickets return to the backlog (leads)",
    )
    def delete(self, request: Request, key: str, sprint_id: int) -> Response:
        sprint = sprint_for_user(request.user, key, sprint_id, need=Role.LEAD)
        services.sprint_delete(sprint=sprint, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SprintStartApi(APIView):
    @extend_schema(
        request=None,
        responses={200: SprintOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Start a planned sprint (leads); one sprint is active at a time",
    )
    def post(self, request: Request, key: str, sprint_id: int) -> Response:
        sprint = sprint_for_user(request.user, key, sprint_id, need=Role.LEAD)
        return Response(_sprint_out(services.sprint_start(sprint=sprint, actor=request.user)))


class SprintCloseApi(APIView):
    @extend_schema(
        request=SprintCloseInput,
        responses={200: SprintOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Close the active sprint, sending unfinished tickets to a planned sprint or the backlog (leads)",
    )
    def post(self, request: Request, key: str, sprint_id: int) -> Response:
        sprint = sprint_for_user(request.user, key, sprint_id, need=Role.LEAD)
        data = SprintCloseInput(data=request.data)
        data.is_valid(raise_exception=True)
        target = _ref_sprint(sprint.project, data.validated_data["carry_over_to"], "carry_over_to")
        return Response(_sprint_out(services.sprint_close(sprint=sprint, actor=request.user, carry_over_to=target)))


# --- Tickets ----------------------------------------------------------------------------
class TicketOutput(serializers.Serializer):
    key = serializers.CharField(help_text="Project-scoped key, e.g. AUTH-12.")
    number = serializers.IntegerField()
    url = serializers.SerializerMethodField(help_text="The ticket's page.")
    kind = serializers.ChoiceField(choices=TicketKind.choices)
    work_type = serializers.ChoiceField(choices=WorkType.choices)
    title = serializers.CharField()
    description = serializers.CharField(help_text="Markdown.")
    status = serializers.ChoiceField(choices=TicketStatus.choices)
    assignee = serializers.CharField(source="assignee.username", allow_null=True, help_text="Username.")
    epic = serializers.IntegerField(source="epic_id", allow_null=True)
    epic_title = serializers.CharField(source="epic.title", allow_null=True)
    sprint = serializers.IntegerField(source="sprint_id", allow_null=True, help_text="Null: in the backlog.")
    sprint_name = serializers.CharField(source="sprint.name", allow_null=True)
    rank = serializers.IntegerField(help_text="Position within its sprint or the backlog (lower is higher).")
    estimate = serializers.IntegerField(allow_null=True)
    question = serializers.CharField()
    hypothesis = serializers.CharField()
    answer = serializers.CharField(help_text="Markdown.")
    outcome = serializers.ChoiceField(choices=Outcome.choices, allow_blank=True)
    answered_at = serializers.DateTimeField(allow_null=True)
    deliverable_url = serializers.CharField(help_text="Pull request or commit URL (code tickets).")
    skip_reason = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_url(self, ticket: Ticket) -> str:
        return reverse("ticket-detail", kwargs={"ticket_key": ticket.key})


class TicketDetailOutput(TicketOutput):
    description_html = serializers.SerializerMethodField(help_text="The description as sanitised HTML.")
    answer_html = serializers.SerializerMethodField(help_text="The answer as sanitised HTML.")

    @extend_schema_field(OpenApiTypes.STR)
    def get_description_html(self, ticket: Ticket) -> str:
        return str(render_markdown(ticket.description))

    @extend_schema_field(OpenApiTypes.STR)
    def get_answer_html(self, ticket: Ticket) -> str:
        return str(render_markdown(ticket.answer))


class TicketPage(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = TicketOutput(many=True)


class TicketFilterInput(serializers.Serializer):
    sprint = serializers.CharField(required=False, help_text="A sprint id, or `backlog` for tickets in no sprint.")
    status = serializers.CharField(required=False, help_text="A status, or several separated by commas.")
    kind = serializers.ChoiceField(choices=TicketKind.choices, required=False)
    work_type = serializers.ChoiceField(choices=WorkType.choices, required=False)
    epic = serializers.CharField(required=False, help_text="An epic id, or `none` for tickets without an epic.")
    assignee = serializers.CharField(required=False, help_text="A username, or `none` for unassigned tickets.")
    q = serializers.CharField(required=False, help_text="Text in the title, description or question, or a key.")

    def validate_sprint(self, value: str) -> int | str:
        if value == selectors.BACKLOG:
            return value
        if id_or_none(value) is None:
            raise serializers.ValidationError(f"{value!r} is neither a sprint id nor 'backlog'.")
        return id_or_none(value)

    def validate_epic(self, value: str) -> int | str:
        if value == selectors.NO_EPIC:
            return value
        if id_or_none(value) is None:
            raise serializers.ValidationError(f"{value!r} is neither an epic id nor 'none'.")
        return id_or_none(value)

    def validate_status(self, value: str) -> tuple[str, ...]:
        statuses = tuple(s.strip() for s in value.split(",") if s.strip())
        for item in statuses:
            if item not in TicketStatus.values:
                raise serializers.ValidationError(
                    f"{item!r} is not a status; use {', '.join(TicketStatus.values)} (comma-separated)."
                )
        return statuses

    def filters(self) -> selectors.TicketFilters:
        return selectors.TicketFilters(**self.validated_data)


class TicketCreateInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=TicketKind.choices, default=TicketKind.CODE)
    work_type = serializers.ChoiceField(choices=WorkType.choices)
    description = serializers.CharField(required=False, allow_blank=True, default="", help_text="Markdown.")
    assignee = serializers.CharField(required=False, allow_null=True, default=None, help_text="A member's username.")
    epic = serializers.IntegerField(required=False, allow_null=True, default=None)
    sprint = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="A planned or active sprint (leads); default backlog."
    )
    estimate = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0, max_value=1000)
    question = serializers.CharField(required=False, allow_blank=True, default="")
    hypothesis = serializers.CharField(required=False, allow_blank=True, default="")
    deliverable_url = serializers.URLField(required=False, allow_blank=True, default="", max_length=500)


class TicketUpdateInput(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    kind = serializers.ChoiceField(choices=TicketKind.choices, required=False)
    work_type = serializers.ChoiceField(choices=WorkType.choices, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(
        choices=TicketStatus.choices,
        required=False,
        help_text="Questions become done by answering them (answer/); skipping needs skip_reason.",
    )
    skip_reason = serializers.CharField(required=False, allow_blank=True, default="")
    assignee = serializers.CharField(required=False, allow_null=True, help_text="A member's username, or null.")
    epic = serializers.IntegerField(required=False, allow_null=True)
    sprint = serializers.IntegerField(required=False, allow_null=True, help_text="Leads only; null: the backlog.")
    estimate = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=1000)
    question = serializers.CharField(required=False, allow_blank=True)
    hypothesis = serializers.CharField(required=False, allow_blank=True)
    deliverable_url = serializers.URLField(required=False, allow_blank=True, max_length=500)


class TicketListApi(APIView):
    @extend_schema(
        parameters=[TicketFilterInput, *_page_params()],
        responses={200: TicketPage, 400: E400, 401: E401, 404: E404},
        summary="Tickets in rank order, filtered",
    )
    def get(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key)
        params = TicketFilterInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        paginator = Pagination()
        page = paginator.paginate_queryset(
            selectors.tickets_for_project(project=project, filters=params.filters()), request, view=self
        )
        for ticket in page:
            ticket.project = project
        return paginator.get_paginated_response(TicketOutput(page, many=True).data)

    @extend_schema(
        request=TicketCreateInput,
        responses={201: TicketDetailOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Create a ticket (engineers and leads; only leads put it straight into a sprint)",
    )
    def post(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key, need=Role.ENGINEER)
        data = TicketCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if fields["sprint"] is not None:
            require_role(project, Role.LEAD, PLANNING_IS_FOR_LEADS)
        fields["assignee"] = _ref_member(project, fields["assignee"])
        fields["epic"] = _ref_epic(project, fields["epic"])
        fields["sprint"] = _ref_sprint(project, fields["sprint"])
        ticket = services.ticket_create(project=project, actor=request.user, **fields)
        return Response(TicketDetailOutput(ticket).data, status=status.HTTP_201_CREATED)


class TicketDetailApi(APIView):
    @extend_schema(responses={200: TicketDetailOutput, 401: E401, 404: E404}, summary="One ticket, by key")
    def get(self, request: Request, ticket_key: str) -> Response:
        return Response(TicketDetailOutput(ticket_for_user(request.user, ticket_key)).data)

    @extend_schema(
        request=TicketUpdateInput,
        responses={200: TicketDetailOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Change a ticket: fields, status (skipping needs skip_reason), sprint (leads)",
    )
    def patch(self, request: Request, ticket_key: str) -> Response:
        ticket = ticket_for_user(request.user, ticket_key, need=Role.ENGINEER)
        project = ticket.project
        data = TicketUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if "sprint" in fields:
            require_role(project, Role.LEAD, "Only a lead moves tickets between sprints and the backlog.")
            fields["sprint"] = _ref_sprint(project, fields["sprint"])
        if "assignee" in fields:
            fields["assignee"] = _ref_member(project, fields["assignee"])
        if "epic" in fields:
            fields["epic"] = _ref_epic(project, fields["epic"])
        services.ticket_update(ticket=ticket, actor=request.user, **fields)
        return Response(TicketDetailOutput(ticket_for_user(request.user, ticket_key)).data)

    @extend_schema(
        responses={204: None, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Delete a ticket that never took part in a started sprint (leads); skip it otherwise",
    )
    def delete(self, request: Request, ticket_key: str) -> Response:
        ticket = ticket_for_user(request.user, ticket_key, need=Role.LEAD)
        services.ticket_delete(ticket=ticket)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MoveInput(serializers.Serializer):
    tickets = serializers.ListField(
        child=serializers.CharField(), help_text="Ticket keys to move, in the order they should end up."
    )
    sprint = serializers.IntegerField(
        allow_null=True, help_text="Destination: a planned or active sprint id, or null for the backlog. Required."
    )
    before = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="Put them just before this ticket (a key)."
    )
    after = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="Put them just after this ticket (a key)."
    )


class MovedTicket(serializers.Serializer):
    key = serializers.CharField()
    sprint = serializers.IntegerField(source="sprint_id", allow_null=True)
    rank = serializers.IntegerField()


class MoveOutput(serializers.Serializer):
    tickets = MovedTicket(many=True)


class TicketMoveApi(APIView):
    @extend_schema(
        request=MoveInput,
        responses={200: MoveOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Rank and move tickets between the backlog and sprints, several at once (leads)",
        description="Moves are atomic: either every ticket moves or none does. Without before/after the tickets "
        "go to the bottom of the destination. A 400 names the ticket at fault, e.g. when another person moved "
        "the anchor meanwhile.",
    )
    def post(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key, need=Role.LEAD)
        data = MoveInput(data=request.data)
        data.is_valid(raise_exception=True)
        moved = services.tickets_move(
            project=project,
            actor=request.user,
            keys=data.validated_data["tickets"],
            sprint_id=data.validated_data["sprint"],
            before=data.validated_data.get("before") or None,
            after=data.validated_data.get("after") or None,
        )
        return Response(MoveOutput({"tickets": moved}).data)


# --- History, comments, answers, reassessments ------------------------------------------
class EventOutput(serializers.Serializer):
    field = serializers.ChoiceField(choices=TicketEvent.Field.choices)
    old = serializers.JSONField(allow_null=True, help_text="Ids for sprint/epic/assignee; values otherwise.")
    new = serializers.JSONField(allow_null=True)
    note = serializers.CharField()
    actor = serializers.CharField(source="actor.username", allow_null=True)
    reassessment = serializers.IntegerField(source="reassessment_id", allow_null=True)
    created_at = serializers.DateTimeField()


class TicketEventListApi(APIView):
    @extend_schema(
        responses={200: EventOutput(many=True), 401: E401, 404: E404},
        summary="A ticket's history, oldest first (creation included)",
    )
    def get(self, request: Request, ticket_key: str) -> Response:
        ticket = ticket_for_user(request.user, ticket_key)
        return Response(EventOutput(selectors.events_of_ticket(ticket=ticket), many=True).data)


class CommentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.CharField(source="author.username", allow_null=True)
    body = serializers.CharField(help_text="Markdown.")
    body_html = serializers.SerializerMethodField(help_text="The body as sanitised HTML.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_body_html(self, comment: Comment) -> str:
        return str(render_markdown(comment.body))


class CommentInput(serializers.Serializer):
    body = serializers.CharField(help_text="Markdown.")


class CommentListApi(APIView):
    @extend_schema(responses={200: CommentOutput(many=True), 401: E401, 404: E404}, summary="Comments on a ticket")
    def get(self, request: Request, ticket_key: str) -> Response:
        ticket = ticket_for_user(request.user, ticket_key)
        return Response(CommentOutput(selectors.comments_of_ticket(ticket=ticket), many=True).data)

    @extend_schema(
        request=CommentInput,
        responses={201: CommentOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Comment on a ticket (engineers and leads)",
    )
    def post(self, request: Request, ticket_key: str) -> Response:
        ticket = ticket_for_user(request.user, ticket_key, need=Role.ENGINEER)
        data = CommentInput(data=request.data)
        data.is_valid(raise_exception=True)
        comment = services.comment_create(ticket=ticket, author=request.user, body=data.validated_data["body"])
        return Response(CommentOutput(comment).data, status=status.HTTP_201_CREATED)


class CommentDetailApi(APIView):
    @extend_schema(responses={200: CommentOutput, 401: E401, 404: E404}, summary="One comment")
    def get(self, request: Request, ticket_key: str, comment_id: int) -> Response:
        return Response(CommentOutput(comment_for_user(request.user, ticket_key, comment_id)).data)

    @extend_schema(
        request=CommentInput,
        responses={200: CommentOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Edit your comment",
    )
    def patch(self, request: Request, ticket_key: str, comment_id: int) -> Response:
        comment = comment_for_user(request.user, ticket_key, comment_id, need=Role.ENGINEER, own=True)
        data = CommentInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(CommentOutput(services.comment_update(comment=comment, body=data.validated_data["body"])).data)

    @extend_schema(
        responses={204: None, 401: E401, 403: E403, 404: E404}, summary="Delete a comment (its author, or a lead)"
    )
    def delete(self, request: Request, ticket_key: str, comment_id: int) -> Response:
        comment = comment_for_user(request.user, ticket_key, comment_id, need=Role.ENGINEER, own=True, lead_may=True)
        services.comment_delete(comment=comment)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AnswerInput(serializers.Serializer):
    answer = serializers.CharField(help_text="What was found (Markdown).")
    outcome = serializers.ChoiceField(choices=Outcome.choices, help_text="How the hypothesis fared.")


class TicketAnswerApi(APIView):
    @extend_schema(
        request=AnswerInput,
        responses={200: TicketDetailOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Answer a question ticket (it becomes done), or revise its answer (engineers and leads)",
    )
    def post(self, request: Request, ticket_key: str) -> Response:
        ticket = ticket_for_user(request.user, ticket_key, need=Role.ENGINEER)
        data = AnswerInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.ticket_answer(ticket=ticket, actor=request.user, **data.validated_data)
        return Response(TicketDetailOutput(ticket_for_user(request.user, ticket_key)).data)


class DecisionSerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="The key of an open ticket.")
    decision = serializers.ChoiceField(choices=Decision.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="Required to skip.")
    title = serializers.CharField(required=False, max_length=200, help_text="For edit.")
    kind = serializers.ChoiceField(choices=TicketKind.choices, required=False, help_text="For edit.")
    work_type = serializers.ChoiceField(choices=WorkType.choices, required=False, help_text="For edit.")
    estimate = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=1000)


class ReassessInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", help_text="What the answer changes.")
    decisions = DecisionSerializer(many=True)


class DecisionOutput(serializers.Serializer):
    ticket = serializers.CharField(source="ticket.key")
    decision = serializers.ChoiceField(choices=Decision.choices)
    reason = serializers.CharField()
    changes = serializers.JSONField(help_text="For edits: {field: [old, new]}.")


class ReassessmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    question = serializers.CharField(source="question.key")
    outcome = serializers.ChoiceField(choices=Outcome.choices, help_text="The answer's outcome at the time.")
    note = serializers.CharField()
    actor = serializers.CharField(source="actor.username", allow_null=True)
    created_at = serializers.DateTimeField()
    decisions = DecisionOutput(many=True, source="decisions.all")


class TicketReassessApi(APIView):
    @extend_schema(
        responses={200: ReassessmentOutput(many=True), 401: E401, 404: E404},
        summary="Reassessments made after this question was answered",
    )
    def get(self, request: Request, ticket_key: str) -> Response:
        question = ticket_for_user(request.user, ticket_key)
        return Response(ReassessmentOutput(selectors.reassessments_of_question(question=question), many=True).data)

    @extend_schema(
        request=ReassessInput,
        responses={201: ReassessmentOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Reassess open tickets after an answer: keep, skip, send to backlog or edit (leads)",
    )
    def post(self, request: Request, ticket_key: str) -> Response:
        question = ticket_for_user(request.user, ticket_key, need=Role.LEAD)
        data = ReassessInput(data=request.data)
        data.is_valid(raise_exception=True)
        decisions = []
        for item in data.validated_data["decisions"]:
            changes = {k: item[k] for k in services.EDITABLE_IN_REASSESSMENT if k in item}
            decisions.append(
                services.DecisionInput(
                    ticket=item["ticket"], decision=item["decision"], reason=item["reason"], changes=changes
                )
            )
        reassessment = services.reassessment_create(
            question=question, actor=request.user, decisions=decisions, note=data.validated_data["note"]
        )
        (out,) = [r for r in selectors.reassessments_of_question(question=question) if r.pk == reassessment.pk]
        return Response(ReassessmentOutput(out).data, status=status.HTTP_201_CREATED)
