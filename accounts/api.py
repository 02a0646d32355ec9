"""REST API for signing in and for the caller's named API tokens. Thin: validate → service/selector."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.models import ApiToken
from agileml.api import ErrorSerializer
from tickets.access import owned_object_for_user

E400 = OpenApiResponse(ErrorSerializer, description="The input is invalid; the message names the field.")
E401 = OpenApiResponse(ErrorSerializer, description="Not authenticated, or the token is invalid.")
E404 = OpenApiResponse(ErrorSerializer, description="No such token of yours.")
E429 = OpenApiResponse(
    ErrorSerializer, description="Too many failed sign-ins for this user or address; see the Retry-After header."
)
DEFAULT_SIGN_IN_NAME = "Signed in through the API"


class TokenInput(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(
        required=False, max_length=services.NAME_MAX, help_text=f"Names the token; default '{DEFAULT_SIGN_IN_NAME}'."
    )


class TokenOutput(serializers.Serializer):
    token = serializers.CharField()


class TokenApi(APIView):
    """Exchange a username and password for a new named API token (throttled per user and address)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=TokenInput,
        responses={200: TokenOutput, 400: E400, 429: E429},
        auth=[],
        summary="Get an API token",
    )
    def post(self, request: Request) -> Response:
        data = TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        credentials = data.validated_data
        # The Django request, so django-axes marks it when the caller is locked out (its middleware answers 429).
        user = authenticate(request._request, username=credentials["username"], password=credentials["password"])
        if user is None:
            raise serializers.ValidationError({"password": ["Unknown username or wrong password."]})
        _, key = services.api_token_create(user=user, name=credentials.get("name") or DEFAULT_SIGN_IN_NAME)
        return Response({"token": key})


class ApiTokenOutput(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "token_key", "created", "last_used_at", "expiry"]
        extra_kwargs = {"token_key": {"help_text": "The token's first characters, to recognise it."}}


class ApiTokenInput(serializers.Serializer):
    name = serializers.CharField(max_length=services.NAME_MAX)


class ApiTokenCreated(ApiTokenOutput):
    token = serializers.CharField(help_text="The token itself: shown in this response only.")

    class Meta(ApiTokenOutput.Meta):
        fields = [*ApiTokenOutput.Meta.fields, "token"]


class ApiTokenListApi(APIView):
    """The caller's named API tokens: list them, or make one (the token is in the response only)."""

    @extend_schema(responses={200: ApiTokenOutput(many=True), 401: E401}, summary="List your API tokens")
    def get(self, request: Request) -> Response:
        tokens = selectors.api_tokens_of_user(user=request.user)
        return Response(ApiTokenOutput(tokens, many=True).data)

    @extend_schema(
        request=ApiTokenInput, responses={201: ApiTokenCreated, 400: E400, 401: E401}, summary="Make an API token"
    )
    def post(self, request: Request) -> Response:
        data = ApiTokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = services.api_token_create(user=request.user, name=data.validated_data["name"])
        token.token = key
        return Response(ApiTokenCreated(token).data, status=status.HTTP_201_CREATED)


class ApiTokenDetailApi(APIView):
    """One of the caller's tokens: see it, or revoke it."""

    @extend_schema(responses={200: ApiTokenOutput, 401: E401, 404: E404}, summary="An API token of yours")
    def get(self, request: Request, token_id: str) -> Response:
        token = owned_object_for_user(request.user, selectors.api_tokens_for_access(), token_id)
        return Response(ApiTokenOutput(token).data)

    @extend_schema(responses={204: None, 401: E401, 404: E404}, summary="Revoke an API token")
    def delete(self, request: Request, token_id: str) -> Response:
        token = owned_object_for_user(request.user, selectors.api_tokens_for_access(), token_id)
        services.api_token_revoke(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)
