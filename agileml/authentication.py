"""API authentication: tokens sent as ``Token <key>`` or ``Bearer <key>`` (the MLflow client sends Bearer).

Named tokens (``accounts``, stored hashed) carry a prefix; a key without it is one of DRF's
older unnamed tokens: kept by DRF, or turned into a hashed token by the accounts migration.
Either way clients holding one keep working.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from accounts.authentication import api_token_user, is_api_token


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

    def authenticate_credentials(self, key: str):
        if is_api_token(key):
            return api_token_user(key)
        try:
            return super().authenticate_credentials(key)
        except exceptions.AuthenticationFailed:
            # An unnamed token that the accounts migration stored as a hash.
            return api_token_user(key)

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
            "description": (
                "`Token <token>` or `Bearer <token>`; make one at `/account/tokens/` "
                "or with `POST /api/v1/auth/token/`."
            ),
        }
