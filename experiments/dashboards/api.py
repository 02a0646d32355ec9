"""REST API for share links (leads only): list, create, read with its uses, revoke.

Thin: validate → access helper → service → serialize. The token is in the create
response only; afterwards a link is known by its id and the token's first characters.
"""

from __future__ import annotations

import datetime

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agileml.api import ErrorSerializer
from experiments.dashboards import selectors, services
from experiments.dashboards.access import share_link_for_user
from experiments.dashboards.models import ShareLink, ShareLinkState
from tickets import clock
from tickets.access import project_for_user
from tickets.api import E400, E401, E404
from tickets.models import Role

E403 = OpenApiResponse(ErrorSerializer, description="Only a lead of this project manages share links.")
USES_SHOWN = 100


class SprintRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ShareLinkOutput(serializers.Serializer):
    id = serializers.IntegerField()
    page = serializers.ChoiceField(choices=["project", "sprint"], help_text="Which demo page the link opens.")
    sprint = SprintRefOutput(allow_null=True, help_text="The sprint, for a sprint's demo page.")
    label = serializers.CharField()
    token_hint = serializers.CharField(help_text="The token's first characters (the token itself is not stored).")
    state = serializers.ChoiceField(choices=ShareLinkState.choices)
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoked_by = serializers.CharField(allow_null=True)
    use_count = serializers.IntegerField()
    last_used_at = serializers.DateTimeField(allow_null=True)


class ShareLinkCreatedOutput(ShareLinkOutput):
    token = serializers.CharField(help_text="Shown only in this response.")
    url = serializers.URLField(help_text="The link to hand out; shown only in this response.")


class ShareLinkUseOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    ip_address = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()


class ShareLinkDetailOutput(ShareLinkOutput):
    uses = ShareLinkUseOutput(many=True, help_text=f"The latest {USES_SHOWN} openings, newest first.")


class ShareLinkCreateInput(serializers.Serializer):
    sprint = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="A sprint id (its demo page); omit for the project's."
    )
    label = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    expires_in_days = serializers.IntegerField(
        required=False, min_value=1, max_value=services.SHARE_LINK_MAX_DAYS, help_text="Default 14."
    )
    expires_at = serializers.DateTimeField(required=False, help_text="Instead of expires_in_days.")

    def validate(self, attrs):
        if "expires_in_days" in attrs and "expires_at" in attrs:
            raise serializers.ValidationError({"expires_at": ["Give either expires_at or expires_in_days, not both."]})
        return attrs


def _link_out(link: ShareLink, now: datetime.datetime) -> dict:
    return {
        "id": link.pk,
        "page": "sprint" if link.sprint_id else "project",
        "sprint": {"id": link.sprint.pk, "name": link.sprint.name} if link.sprint_id else None,
        "label": link.label,
        "token_hint": link.token_hint,
        "state": link.state_at(now),
        "created_by": link.created_by.username if link.created_by_id else None,
        "created_at": link.created_at,
        "expires_at": link.expires_at,
        "revoked_at": link.revoked_at,
        "revoked_by": link.revoked_by.username if link.revoked_by_id else None,
        "use_count": link.use_count,
        "last_used_at": link.last_used_at,
    }


class ShareLinkListApi(APIView):
    @extend_schema(
        responses={200: ShareLinkOutput(many=True), 401: E401, 403: E403, 404: E404},
        summary="Share links of a project (leads)",
    )
    def get(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key, need=Role.LEAD)
        now = clock.now()
        links = selectors.share_links_of_project(project=project, now=now)
        return Response(ShareLinkOutput([_link_out(link, now) for link in links], many=True).data)

    @extend_schema(
        request=ShareLinkCreateInput,
        responses={201: ShareLinkCreatedOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Create a read-only link to the project's (or a sprint's) demo page (leads)",
    )
    def post(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key, need=Role.LEAD)
        data = ShareLinkCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        sprint = None
        if values["sprint"] is not None:
            sprint = selectors.sprint_of_project(project=project, sprint_id=values["sprint"])
            if sprint is None:
                raise serializers.ValidationError({"sprint": [f"There is no sprint {values['sprint']} in {key}."]})
        now = clock.now()
        expires_at = values.get("expires_at") or now + datetime.timedelta(days=values.get("expires_in_days", 14))
        link, token = services.share_link_create(
            project=project, actor=request.user, sprint=sprint, label=values["label"], expires_at=expires_at
        )
        body = _link_out(link, now)
        body["token"] = token
        body["url"] = request.build_absolute_uri(reverse("shared-demo", args=[token]))
        return Response(ShareLinkCreatedOutput(body).data, status=status.HTTP_201_CREATED)


class ShareLinkDetailApi(APIView):
    @extend_schema(
        responses={200: ShareLinkDetailOutput, 401: E401, 403: E403, 404: E404},
        summary="One share link with its latest uses (leads)",
    )
    def get(self, request: Request, key: str, link_id: int) -> Response:
        link = share_link_for_user(request.user, key, link_id)
        body = _link_out(link, clock.now())
        body["uses"] = selectors.share_link_uses(link=link, limit=USES_SHOWN)
        return Response(ShareLinkDetailOutput(body).data)


class ShareLinkRevokeApi(APIView):
    @extend_schema(
        request=None,
        responses={200: ShareLinkOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Revoke a share link at once (leads)",
    )
    def post(self, request: Request, key: str, link_id: int) -> Response:
        link = share_link_for_user(request.user, key, link_id)
        services.share_link_revoke(link=link, actor=request.user)
        return Response(ShareLinkOutput(_link_out(link, clock.now())).data)
