"""Reads for the token pages and API."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from rest_framework.authtoken.models import Token

from accounts.models import ApiToken


def api_tokens_of_user(*, user: AbstractBaseUser) -> QuerySet[ApiToken]:
    """The user's named tokens, newest first (one query)."""
    return ApiToken.objects.filter(user=user).order_by("-created", "-id")


def api_tokens_for_access() -> QuerySet[ApiToken]:
    """All named tokens, for the access helper to pick one by id and owner."""
    return ApiToken.objects.all()


def api_token_by_key(token_key: str) -> list[ApiToken]:
    """Tokens whose first characters are ``token_key`` (normally one), with their users."""
    return list(ApiToken.objects.filter(token_key=token_key).select_related("user"))


def legacy_token_of_user(*, user: AbstractBaseUser) -> Token | None:
    """The user's unnamed token from ``POST /api/v1/auth/token/`` before named tokens, if any."""
    return Token.objects.filter(user=user).first()
