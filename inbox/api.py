"""REST API: project search and the caller's notifications. Thin: validate → access → selector/service."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agileml.api import ErrorSerializer, Pagination
from inbox import search, selectors, services
from inbox.models import Notification, NotificationKind
from tickets.access import owned_object_for_user, project_for_user

E401 = OpenApiResponse(ErrorSerializer, description="Not authenticated, or the token is invalid.")
E404 = OpenApiResponse(ErrorSerializer, description="No such object, or it is not yours / not in your project.")


class HitOutput(serializers.Serializer):
    kind = serializers.CharField(help_text="ticket, run, epic or benchmark.")
    title = serializers.CharField(help_text="HTML: the text escaped, matched words in <mark>.")
    snippet = serializers.CharField(help_text="HTML: where it matched, escaped, matched words in <mark>.")
    url = serializers.CharField()
    rank = serializers.FloatField(help_text="Higher is a better match.")
    label = serializers.CharField(help_text="Plain text: status, task or ticket.")


class SearchOutput(serializers.Serializer):
    query = serializers.CharField()
    words = serializers.ListField(child=serializers.CharField())
    count = serializers.IntegerField()
    results = HitOutput(many=True)


class ProjectSearchApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="Words to find; a ticket key or number finds that ticket.")],
        responses={200: SearchOutput, 401: E401, 404: E404},
        summary="Search a project: tickets, comments, runs, epics and benchmarks, best first",
    )
    def get(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key)
        found = search.search_project(project=project, query=request.query_params.get("q", ""))
        results = [hit.__dict__ for hit in found.hits]
        return Response({"query": found.query, "words": found.words, "count": len(results), "results": results})


class NotificationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=NotificationKind.choices)
    text = serializers.CharField(help_text="Plain text.")
    url = serializers.CharField(help_text="The page it is about.")
    project = serializers.CharField(source="project.key")
    ticket = serializers.SerializerMethodField()
    actor = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    read = serializers.SerializerMethodField()

    def get_ticket(self, row: Notification) -> str | None:
        return f"{row.project.key}-{row.ticket.number}" if row.ticket_id else None

    def get_actor(self, row: Notification) -> str | None:
        return row.actor.get_username() if row.actor_id else None

    def get_read(self, row: Notification) -> bool:
        return row.read_at is not None


class MarkedOutput(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many were unread.")
    unread = serializers.IntegerField()


class NotificationPage(serializers.Serializer):
    """One page of notifications (``?page=``)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = NotificationOutput(many=True)


class NotificationListApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("unread", bool, description="Only unread ones.")],
        responses={200: NotificationPage, 401: E401},
        summary="Your notifications, newest first (paginated)",
    )
    def get(self, request: Request) -> Response:
        unread = request.query_params.get("unread", "").lower() in ("1", "true", "yes")
        rows = selectors.notifications_of_user(user=request.user, unread=unread)
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(NotificationOutput(page, many=True).data)


class NotificationReadApi(APIView):
    @extend_schema(request=None, responses={200: NotificationOutput, 401: E401, 404: E404}, summary="Mark one read")
    def post(self, request: Request, notification_id: str) -> Response:
        row = owned_object_for_user(
            request.user, selectors.notifications_for_access(), notification_id, owner_field="recipient"
        )
        services.notification_mark_read(notification=row)
        return Response(NotificationOutput(row).data)


class NotificationReadAllApi(APIView):
    @extend_schema(request=None, responses={200: MarkedOutput, 401: E401}, summary="Mark all your notifications read")
    def post(self, request: Request) -> Response:
        marked = services.notifications_mark_all_read(user=request.user)
        return Response({"marked": marked, "unread": selectors.unread_count(user=request.user)})
