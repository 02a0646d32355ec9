"""Writes: making and revoking API tokens, changing a password, noting a token's use."""

from __future__ import annotations

import datetime

from django.contrib.auth import password_validation
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import ApiToken

NAME_MAX = ApiToken._meta.get_field("name").max_length
# A token's last use is written at most this often, so an API client does not cost a write per request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def api_token_create(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """A new named token for ``user``: the row (holding only the token's hash) and the token, to show once."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the token after where it is used, e.g. 'laptop MLflow'."})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"The name is {len(name)} characters long; {NAME_MAX} at most."})
    return ApiToken.objects.create(user=user, expiry=None, name=name)


def api_token_revoke(*, token: ApiToken) -> None:
    """Revoke one token: it stops working at once."""
    token.delete()


def legacy_token_revoke(*, user: AbstractBaseUser) -> int:
    """Revoke the user's unnamed token from before named tokens; how many were revoked (0 or 1)."""
    return Token.objects.filter(user=user).delete()[0]


def api_tokens_revoke_all(*, user: AbstractBaseUser) -> int:
    """Revoke every token of ``user`` (named and unnamed); how many were revoked."""
    with transaction.atomic():
        named = ApiToken.objects.filter(user=user).delete()[0]
        return named + legacy_token_revoke(user=user)


def password_change(*, user: AbstractBaseUser, old_password: str, new_password: str) -> int:
    """Change ``user``'s password and revoke all their API tokens; how many tokens were revoked.

    A changed password usually means the old one (or a machine holding tokens) may be known
    to someone else, so every token made under it stops working too.
    """
    if not user.check_password(old_password or ""):
        raise ValidationError({"old_password": "This is not your current password."})
    try:
        password_validation.validate_password(new_password or "", user)
    except ValidationError as error:
        raise ValidationError({"new_password": error.messages}) from None
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        return api_tokens_revoke_all(user=user)


def api_token_touch(*, token: ApiToken, now: datetime.datetime | None = None) -> None:
    """Note that ``token`` was just used (written at most once per :data:`LAST_USED_RESOLUTION`)."""
    now = now or timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
