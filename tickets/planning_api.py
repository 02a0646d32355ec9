"""REST API for planning: epics and sprints (plan, start, close with carry-over)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agileml.api import Pagination
from tickets import selectors, services
from tickets.access import (
    epic_for_user,
    project_for_user,
    sprint_for_user,
)
from tickets.api import E400, E401, E403, E404, page_params, sprint_ref
from tickets.models import (
    EpicStatus,
    Role,
    Sprint,
    SprintState,
)


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


class SprintSummaryOutput(serializers.Serializer):
    """A sprint's own fields and ticket counts: what both the list and the detail give."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    goal = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    state = serializers.ChoiceField(choices=SprintState.choices)
    started_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    ticket_count = serializers.IntegerField()
    done_count = serializers.IntegerField()
    skipped_count = serializers.IntegerField()


class SprintOutput(SprintSummaryOutput):
    committed = serializers.ListField(
        child=serializers.CharField(), allow_null=True, help_text="Ticket keys in the sprint when it started."
    )
    snapshot = serializers.JSONField(
        allow_null=True,
        help_text="Frozen at close: ticket keys committed, added, removed, completed, skipped and carried_over, "
        "their counts, and carried_to (the sprint unfinished work went to; null for the backlog).",
    )


class SprintListItemOutput(SprintSummaryOutput):
    url = serializers.SerializerMethodField(help_text="The sprint's detail, with its committed tickets and snapshot.")

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, sprint: Sprint) -> str:
        path = reverse("api-sprint-detail", kwargs={"key": self.context["key"], "sprint_id": sprint.pk})
        return self.context["request"].build_absolute_uri(path)


class SprintPage(serializers.Serializer):
    """One page of sprints (``?page=``, ``?page_size=`` up to 500)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SprintListItemOutput(many=True)


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


class SprintStartInput(serializers.Serializer):
    move_dates = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Needed to start a sprint before its start date: it then starts today and keeps its length. "
        "Without it such a start answers 400 with the reason.",
    )


def sprint_out(sprint: Sprint) -> dict:
    counted = selectors.sprints_of_project(project=sprint.project).get(pk=sprint.pk)
    return SprintOutput(counted).data


class SprintListApi(APIView):
    @extend_schema(
        parameters=page_params(),
        responses={200: SprintPage, 401: E401, 404: E404},
        summary="Sprints: active, then planned, then closed (newest first), paged",
        description="Each sprint's fields and ticket counts; its committed tickets and close snapshot are at ``url``.",
        # A page object, not a list: named as the list it was, beside its item's "retrieve".
        operation_id="v1_projects_sprints_list",
    )
    def get(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key)
        paginator = Pagination()
        sprints = selectors.sprints_of_project(project=project).defer("committed", "snapshot")
        page = paginator.paginate_queryset(sprints, request, view=self)
        context = {"request": request, "key": project.key}
        return paginator.get_paginated_response(SprintListItemOutput(page, many=True, context=context).data)

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
        return Response(sprint_out(sprint), status=status.HTTP_201_CREATED)


class SprintDetailApi(APIView):
    @extend_schema(responses={200: SprintOutput, 401: E401, 404: E404}, summary="One sprint")
    def get(self, request: Request, key: str, sprint_id: int) -> Response:
        return Response(sprint_out(sprint_for_user(request.user, key, sprint_id)))

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
        return Response(sprint_out(sprint))

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
        request=SprintStartInput,
        responses={200: SprintOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Start a planned sprint (leads); one sprint is active at a time; "
        "a sprint dated in the future needs move_dates=true",
    )
    def post(self, request: Request, key: str, sprint_id: int) -> Response:
        sprint = sprint_for_user(request.user, key, sprint_id, need=Role.LEAD)
        data = SprintStartInput(data=request.data)
        data.is_valid(raise_exception=True)
        started = services.sprint_start(sprint=sprint, actor=request.user, move_dates=data.validated_data["move_dates"])
        return Response(sprint_out(started))


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
        target = sprint_ref(sprint.project, data.validated_data["carry_over_to"], "carry_over_to")
        return Response(sprint_out(services.sprint_close(sprint=sprint, actor=request.user, carry_over_to=target)))
