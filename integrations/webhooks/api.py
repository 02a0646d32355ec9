"""REST API for outgoing webhooks (leads only): endpoints, their deliveries, redelivery.

Thin: access helper → service or selector → serialize. The secret is in the create response
(and in the response to a change that sets a new one) only; afterwards its first characters.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agileml import events
from agileml.api import ErrorSerializer, Pagination
from integrations.access import delivery_for_user, webhook_for_user
from integrations.webhooks import selectors, services
from integrations.webhooks.models import Delivery, DeliveryStatus, Webhook, WebhookKind
from tickets.access import project_for_user
from tickets.api import E400, E401, E404, page_params
from tickets.models import Role

E403 = OpenApiResponse(ErrorSerializer, description="Only a lead of this project manages webhooks.")


class DeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    delivery = serializers.CharField(help_text="The X-AgileML-Delivery header: the same on every attempt.")
    event = serializers.ChoiceField(choices=events.TYPES)
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempts = serializers.IntegerField()
    response_code = serializers.IntegerField(allow_null=True, help_text="The receiver's last HTTP status.")
    duration_ms = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)


class WebhookOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.URLField()
    kind = serializers.ChoiceField(choices=WebhookKind.choices)
    events = serializers.ListField(child=serializers.ChoiceField(choices=events.TYPES))
    active = serializers.BooleanField()
    secret_hint = serializers.CharField(help_text="The secret's first characters.")
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField(help_text="Why the endpoint was turned off after a day of failures.")
    created_at = serializers.DateTimeField()
    recent_deliveries = DeliveryOutput(many=True, required=False)


class WebhookWithSecretOutput(WebhookOutput):
    secret = serializers.CharField(help_text="Shown only in this response.")


class WebhookChangedOutput(WebhookOutput):
    secret = serializers.CharField(required=False, help_text="Only when this change set a new secret.")


class WebhookInput(serializers.Serializer):
    url = serializers.CharField(max_length=2000, help_text="http(s) URL of a public host.")
    events = serializers.ListField(child=serializers.CharField(), help_text=f"Some of: {', '.join(events.TYPES)}.")
    kind = serializers.ChoiceField(choices=WebhookKind.choices, default=WebhookKind.GENERIC)
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    secret = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default=None, help_text="Omit to have one generated."
    )
    active = serializers.BooleanField(default=True)


class WebhookUpdateInput(WebhookInput):
    url = serializers.CharField(max_length=2000, required=False)
    events = serializers.ListField(child=serializers.CharField(), required=False)
    kind = serializers.ChoiceField(choices=WebhookKind.choices, required=False)
    name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    secret = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="null or empty makes a new secret."
    )
    active = serializers.BooleanField(required=False)


def delivery_out(delivery: Delivery) -> dict:
    return {
        "id": delivery.pk,
        "delivery": delivery.uid.hex,
        "event": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "response_code": delivery.response_code,
        "duration_ms": delivery.duration_ms,
        "error": delivery.error,
        "created_at": delivery.created_at,
        "last_attempt_at": delivery.last_attempt_at,
        "next_attempt_at": delivery.next_attempt_at if delivery.status == DeliveryStatus.PENDING else None,
    }


def webhook_out(webhook: Webhook, *, secret: bool = False) -> dict:
    body = {
        "id": webhook.pk,
        "name": webhook.name,
        "url": webhook.url,
        "kind": webhook.kind,
        "events": webhook.events,
        "active": webhook.active,
        "secret_hint": webhook.secret_hint,
        "disabled_at": webhook.disabled_at,
        "disabled_reason": webhook.disabled_reason,
        "created_at": webhook.created_at,
    }
    if hasattr(webhook, "recent_deliveries"):
        body["recent_deliveries"] = [delivery_out(d) for d in webhook.recent_deliveries]
    if secret:
        body["secret"] = webhook.secret
    return body


class WebhookListApi(APIView):
    @extend_schema(
        responses={200: WebhookOutput(many=True), 401: E401, 403: E403, 404: E404},
        summary="Webhooks of a project (leads)",
    )
    def get(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key, need=Role.LEAD)
        hooks = selectors.webhooks_of_project(project=project)
        return Response(WebhookOutput([webhook_out(h) for h in hooks], many=True).data)

    @extend_schema(
        request=WebhookInput,
        responses={201: WebhookWithSecretOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Register a webhook endpoint (leads)",
    )
    def post(self, request: Request, key: str) -> Response:
        project = project_for_user(request.user, key, need=Role.LEAD)
        data = WebhookInput(data=request.data)
        data.is_valid(raise_exception=True)
        webhook = services.webhook_create(project=project, actor=request.user, **data.validated_data)
        return Response(WebhookWithSecretOutput(webhook_out(webhook, secret=True)).data, status=status.HTTP_201_CREATED)


class WebhookDetailApi(APIView):
    @extend_schema(responses={200: WebhookOutput, 401: E401, 403: E403, 404: E404}, summary="A webhook (leads)")
    def get(self, request: Request, key: str, webhook_id: int) -> Response:
        webhook = webhook_for_user(request.user, key, webhook_id)
        return Response(WebhookOutput(webhook_out(webhook)).data)

    @extend_schema(
        request=WebhookUpdateInput,
        responses={200: WebhookChangedOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Change a webhook; turning it on again forgets its failures (leads)",
    )
    def patch(self, request: Request, key: str, webhook_id: int) -> Response:
        webhook = webhook_for_user(request.user, key, webhook_id)
        data = WebhookUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.webhook_update(webhook=webhook, **data.validated_data)
        new_secret = "secret" in data.validated_data
        return Response(WebhookChangedOutput(webhook_out(webhook, secret=new_secret)).data)

    @extend_schema(responses={204: None, 401: E401, 403: E403, 404: E404}, summary="Delete a webhook (leads)")
    def delete(self, request: Request, key: str, webhook_id: int) -> Response:
        webhook = webhook_for_user(request.user, key, webhook_id)
        services.webhook_delete(webhook=webhook)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryPage(serializers.Serializer):
    """One page of a webhook's deliveries, newest first (``?page=``, ``?page_size=`` up to 500)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = DeliveryOutput(many=True)


class DeliveryListApi(APIView):
    @extend_schema(
        parameters=page_params(),
        responses={200: DeliveryPage, 401: E401, 403: E403, 404: E404},
        summary="A webhook's deliveries, newest first, paged (leads)",
        # A page object, not a list: keeps the name it had as a list.
        operation_id="v1_projects_webhooks_deliveries_list",
    )
    def get(self, request: Request, key: str, webhook_id: int) -> Response:
        webhook = webhook_for_user(request.user, key, webhook_id)
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.deliveries_of_webhook(webhook=webhook), request, view=self)
        return paginator.get_paginated_response(DeliveryOutput([delivery_out(d) for d in page], many=True).data)


class DeliveryRedeliverApi(APIView):
    @extend_schema(
        request=None,
        responses={202: DeliveryOutput, 400: E400, 401: E401, 403: E403, 404: E404},
        summary="Send a delivery again: a new attempt with the same delivery id (leads)",
    )
    def post(self, request: Request, key: str, webhook_id: int, delivery_id: int) -> Response:
        delivery = delivery_for_user(request.user, key, webhook_id, delivery_id)
        services.delivery_redeliver(delivery=delivery, actor=request.user)
        return Response(DeliveryOutput(delivery_out(delivery)).data, status=status.HTTP_202_ACCEPTED)
