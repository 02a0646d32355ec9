"""API authentication: DRF tokens sent as ``Token <key>`` or ``Bearer <key>``."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


class BearerOrTokenAuthentication(TokenAuthentication):
    """Token authentication accepting ``Token <key>`` and ``Bearer <key>``."""

    keywords = ("Token", "Bearer")

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        parts = header.split()
        if not parts or parts[0] not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header: expected 'Token <token>' or 'Bearer <token>'."
            )
        return self.authenticate_credentials(parts[1])

    def authenticate_header(self, request) -> str:
        return "Token"


class BearerOrTokenScheme(OpenApiAuthenticationExtension):
    target_class = "agileml.authentication.BearerOrTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>` or `Bearer <token>`; get one from `POST /api/v1/auth/token/`.",
        }
