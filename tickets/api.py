"""REST API for projects, members and planning. Thin: validate → access helper → service/selector."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agileml.api import ErrorSerializer
from tickets import selectors, services
from tickets.access import (
    project_for_user,
    require_project_creator,
)
from tickets.models import (
    Epic,
    Membership,
    Project,
    Role,
    Sprint,
)

E400 = OpenApiResponse(ErrorSerializer, description="The input is invalid; the message names the field.")
E401 = OpenApiResponse(ErrorSerializer, description="Not authenticated, or the token is invalid.")
E403 = OpenApiResponse(ErrorSerializer, description="Your role in this project does not allow this.")
E404 = OpenApiResponse(ErrorSerializer, description="No such object, or you are not a member of its project.")


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
        responses={201: ProjectOutput, 400: E400, 401: E401, 403: E403},
        summary="Create a project (you become its lead); staff and users allowed to create projects",
    )
    def post(self, request: Request) -> Response:
        require_project_creator(request.user)
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


def page_params() -> list[OpenApiParameter]:
    return [
        OpenApiParameter("page", int, description="Page number (from 1)."),
        OpenApiParameter("page_size", int, description="Results per page (default 50, at most 500)."),
    ]


def epic_ref(project: Project, epic_id: int | None, field: str = "epic") -> Epic | None:
    if epic_id is None:
        return None
    epic = selectors.epic_in_project(project=project, epic_id=epic_id)
    if epic is None:
        raise serializers.ValidationError({field: [f"There is no epic {epic_id} in {project.key}."]})
    return epic


def sprint_ref(project: Project, sprint_id: int | None, field: str = "sprint") -> Sprint | None:
    if sprint_id is None:
        return None
    sprint = selectors.sprint_in_project(project=project, sprint_id=sprint_id)
    if sprint is None:
        raise serializers.ValidationError({field: [f"There is no sprint {sprint_id} in {project.key}."]})
    return sprint


def member_ref(project: Project, username: str | None, field: str = "assignee"):
    if not username:
        return None
    user = selectors.member_user(project=project, username=username)
    if user is None:
        raise serializers.ValidationError({field: [f"{username} is not a member of {project.key}."]})
    return user
