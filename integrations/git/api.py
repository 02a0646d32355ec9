"""``POST /api/v1/projects/{KEY}/git/``: GitHub and GitLab deliver their events here.

No user signs in: the request is authenticated by its signature (GitHub) or token (GitLab), checked
against the project's Git secret before anything else is read.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agileml.api import ErrorSerializer
from integrations.git import services


class GitLinkedOutput(serializers.Serializer):
    ticket = serializers.CharField()
    url = serializers.URLField()
    new = serializers.BooleanField(help_text="False when the link existed already (a redelivered event).")


class GitMovedOutput(serializers.Serializer):
    ticket = serializers.CharField()
    status = serializers.CharField()


class GitResultOutput(serializers.Serializer):
    message = serializers.CharField()
    linked = GitLinkedOutput(many=True)
    moved = GitMovedOutput(many=True)


class GitEventsApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request={"application/json": dict},
        responses={
            200: GitResultOutput,
            202: GitResultOutput,
            400: OpenApiResponse(ErrorSerializer, description="Malformed JSON, or not the documented payload."),
            403: OpenApiResponse(ErrorSerializer, description="Unsigned, or the signature or token does not match."),
        },
        summary="Receive a GitHub (push, pull_request) or GitLab (Push Hook, Merge Request Hook) event",
    )
    def post(self, request: Request, key: str) -> Response:
        try:
            result = services.git_event_receive(project_key=key, headers=request.headers, body=request.body)
        except services.GitRefused as refused:
            return Response({"message": refused.message}, status=refused.status)
        return Response(
            {"message": result.message, "linked": result.linked, "moved": result.moved}, status=result.status
        )
