"""REST API for tickets: list (filters, pages), create, read, change, delete, bulk moves between
lists, history, comments, answers and reassessments. Tickets are addressed by key (AUTH-12)."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agileml.api import Pagination
from agileml.csv_export import csv_download
from tickets import selectors, services
from tickets.access import (
    comment_for_user,
    id_or_none,
    project_for_user,
    require_role,
    ticket_for_user,
)
from tickets.api import E400, E401, E403, E404, PLANNING_IS_FOR_LEADS, epic_ref, member_ref, page_params, sprint_ref
from tickets.export import ticket_rows
from tickets.markdown import render_markdown
from tickets.models import (
    Comment,
    Decision,
    Outcome,
    Role,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketStatus,
    WorkType,
)


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


class TicketExportApi(APIView):
    @extend_schema(
        parameters=[TicketFilterInput],
        responses={(200, "text/csv"): OpenApiTypes.STR, 400: E400, 401: E401, 404: E404},
        summary="Tickets as CSV (UTF-8 with BOM), in rank order, with the list's filters; streamed",
    )
    def get(self, request: Request, key: str) -> StreamingHttpResponse:
        project = project_for_user(request.user, key)
        params = TicketFilterInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        tickets = selectors.tickets_for_project(project=project, filters=params.filters())
        return csv_download(
            ticket_rows(project=project, tickets=tickets), f"{project.key}-tickets.csv", spreadsheet=True
        )


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
        parameters=[TicketFilterInput, *page_params()],
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
        fields["assignee"] = member_ref(project, fields["assignee"])
        fields["epic"] = epic_ref(project, fields["epic"])
        fields["sprint"] = sprint_ref(project, fields["sprint"])
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
            fields["sprint"] = sprint_ref(project, fields["sprint"])
        if "assignee" in fields:
            fields["assignee"] = member_ref(project, fields["assignee"])
        if "epic" in fields:
            fields["epic"] = epic_ref(project, fields["epic"])
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


class EventOutput(serializers.Serializer):
    field = serializers.ChoiceField(choices=TicketEvent.Field.choices)
    old = serializers.JSONField(allow_null=True, help_text="Ids for sprint/epic/assignee; values otherwise.")
    new = serializers.JSONField(allow_null=True)
    note = serializers.CharField()
    actor = serializers.CharField(source="actor.username", allow_null=True)
    reassessment = serializers.IntegerField(source="reassessment_id", allow_null=True)
    created_at = serializers.DateTimeField()


class EventPage(serializers.Serializer):
    """One page of a ticket's history (``?page=``, ``?page_size=`` up to 500)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = EventOutput(many=True)


class TicketEventListApi(APIView):
    @extend_schema(
        parameters=page_params(),
        responses={200: EventPage, 401: E401, 404: E404},
        summary="A ticket's history, oldest first (creation included), paged",
        # A page object, not a list: keeps the name it had as a list.
        operation_id="v1_tickets_events_list",
    )
    def get(self, request: Request, ticket_key: str) -> Response:
        ticket = ticket_for_user(request.user, ticket_key)
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.events_of_ticket(ticket=ticket), request, view=self)
        return paginator.get_paginated_response(EventOutput(page, many=True).data)


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


class CommentPage(serializers.Serializer):
    """One page of a ticket's comments (``?page=``, ``?page_size=`` up to 500)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = CommentOutput(many=True)


class CommentListApi(APIView):
    @extend_schema(
        parameters=page_params(),
        responses={200: CommentPage, 401: E401, 404: E404},
        summary="Comments on a ticket, oldest first, paged",
        # A page object, not a list: named as the list it was, beside its item's "retrieve".
        operation_id="v1_tickets_comments_list",
    )
    def get(self, request: Request, ticket_key: str) -> Response:
        ticket = ticket_for_user(request.user, ticket_key)
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.comments_of_ticket(ticket=ticket), request, view=self)
        return paginator.get_paginated_response(CommentOutput(page, many=True).data)

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
