"""Finding the user of a named API token (django-rest-knox's hashing; one query per request)."""

from __future__ import annotations

from hmac import compare_digest

from django.utils import timezone
from knox.crypto import hash_token
from knox.settings import CONSTANTS, knox_settings
from rest_framework import exceptions

from accounts import selectors, services
from accounts.models import ApiToken


def is_api_token(key: str) -> bool:
    """Named tokens start with the prefix; DRF's older unnamed tokens are 40 hex digits."""
    return key.startswith(knox_settings.TOKEN_PREFIX)


def api_token_user(key: str) -> tuple[object, ApiToken]:
    """``(user, token)`` for a named token, noting its use; ``AuthenticationFailed`` otherwise.

    Rows are found by the token's first characters and confirmed by comparing hashes, so the
    database never holds a usable token.
    """
    digest = hash_token(key)
    for token in selectors.api_token_by_key(key[: CONSTANTS.TOKEN_KEY_LENGTH]):
        if not compare_digest(digest, token.digest):
            continue
        if token.expiry is not None and token.expiry < timezone.now():
            raise exceptions.AuthenticationFailed("This token has expired; make a new one at /account/tokens/.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        services.api_token_touch(token=token)
        return token.user, token
    raise exceptions.AuthenticationFailed("Invalid token.")
