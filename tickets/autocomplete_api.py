"""Autocomplete endpoints for pickers of tickets and members: what was typed → a few matches.

Every member of the project may ask (pickers sit on pages stakeholders read too); outsiders get
the outsiders' 404. At most ``autocomplete.LIMIT`` rows and a constant number of queries.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets import autocomplete
from tickets.access import project_for_user
from tickets.api import E401, E404
from tickets.models import Membership, Role, Ticket, TicketKind, TicketStatus

QUERY = OpenApiParameter(
    "q", str, description="What was typed: words of the title, a key (AUTH-12) or a number. Empty: the newest."
)


class TicketChoice(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField(help_text="What ticket fields take, e.g. AUTH-12.")
    label = serializers.SerializerMethodField(help_text="Plain text to show: key and title.")
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=TicketStatus.choices)
    kind = serializers.ChoiceField(choices=TicketKind.choices)
    open = serializers.BooleanField(source="is_open")

    def get_label(self, ticket: Ticket) -> str:
        return f"{ticket.key} · {ticket.title}"


class TicketChoices(serializers.Serializer):
    query = serializers.CharField()
    results = TicketChoice(many=True, help_text="At most 20: the typed number first, then open tickets, newest first.")


class MemberChoice(serializers.Serializer):
    id = serializers.IntegerField(source="user.pk")
    username = serializers.CharField(source="user.username", help_text="What assignee fields take.")
    full_name = serializers.CharField(source="user.get_full_name")
    role = serializers.ChoiceField(choices=Role.choices)
    label = serializers.SerializerMethodField(help_text="Plain text to show: username and name.")

    def get_label(self, membership: Membership) -> str:
        name = membership.user.get_full_name()
        return f"{membership.user.username} ({name})" if name else membership.user.username


class MemberChoices(serializers.Serializer):
    query = serializers.CharField()
    results = MemberChoice(many=True, help_text="At most 20, by username.")


class TicketAutocompleteApi(APIView):
    @extend_schema(
        parameters=[QUERY],
        responses={200: TicketChoices, 401: E401, 404: E404},
        summary="Tickets matching what was typed, for pickers (members)",
    )
    def get(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key)
        query = request.query_params.get("q", "")
        tickets = autocomplete.ticket_suggestions(project=project, query=query)
        return Response({"query": query, "results": TicketChoice(tickets, many=True).data})


class MemberAutocompleteApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="Words of the username or name. Empty: everyone.")],
        responses={200: MemberChoices, 401: E401, 404: E404},
        summary="Members matching what was typed, for pickers (members)",
    )
    def get(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key)
        query = request.query_params.get("q", "")
        members = autocomplete.member_suggestions(project=project, query=query)
        return Response({"query": query, "results": MemberChoice(members, many=True).data})
