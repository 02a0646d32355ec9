"""Autocomplete endpoint for pickers of runs: what was typed → a few of the project's runs.

Every member of the project may ask; outsiders get the outsiders' 404. At most
``autocomplete.LIMIT`` rows and a constant number of queries.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from experiments.tracking import autocomplete
from experiments.tracking.models import Run, RunStatus
from tickets.access import project_for_user
from tickets.api import E401, E404


class RunChoice(serializers.Serializer):
    id = serializers.IntegerField(help_text="What run fields take.")
    label = serializers.SerializerMethodField(help_text="Plain text to show: id, name and ticket.")
    name = serializers.CharField(source="display_name")
    status = serializers.ChoiceField(choices=RunStatus.choices)
    ticket = serializers.SerializerMethodField(help_text="The key of the run's ticket, if attached.")
    start_time = serializers.DateTimeField()

    def get_ticket(self, run: Run) -> str | None:
        return run.ticket.key if run.ticket_id else None

    def get_label(self, run: Run) -> str:
        on = f" (on {run.ticket.key})" if run.ticket_id else ""
        return f"#{run.pk} {run.display_name}{on}"


class RunChoices(serializers.Serializer):
    query = serializers.CharField()
    results = RunChoice(many=True, help_text="At most 20: the typed id first, then the newest.")


class RunAutocompleteApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q", str, description="What was typed: words of the name, an id (12 or #12). Empty: the newest."
            )
        ],
        responses={200: RunChoices, 401: E401, 404: E404},
        summary="Runs matching what was typed, for pickers (members)",
    )
    def get(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key)
        query = request.query_params.get("q", "")
        runs = autocomplete.run_suggestions(project=project, query=query)
        return Response({"query": query, "results": RunChoice(runs, many=True).data})
