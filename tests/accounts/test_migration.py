"""The accounts migration turns DRF's plain-text tokens into hashed named ones that still work."""

from __future__ import annotations

import datetime
import importlib

import pytest
from django.apps import apps
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import ApiToken

pytestmark = pytest.mark.django_db

migration = importlib.import_module("accounts.migrations.0002_hash_unnamed_tokens")


def test_unnamed_tokens_are_hashed_and_keep_working(cast):
    old = Token.objects.create(user=cast.engineer)
    Token.objects.filter(pk=old.pk).update(created=datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC))
    other = Token.objects.create(user=cast.lead)
    migration.hash_unnamed_tokens(apps, None)
    assert not Token.objects.exists()
    stored = ApiToken.objects.get(user=cast.engineer)
    assert stored.name == migration.NAME and stored.created.year == 2026 and stored.created.month == 1
    assert old.key not in (stored.digest, stored.token_key)
    for token, username in ((old, "engineer"), (other, "lead")):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")
        assert client.get("/api/v1/projects/").status_code == 200, username
    assert ApiToken.objects.get(user=cast.engineer).last_used_at is not None
    # Revoked like any named token.
    ApiToken.objects.filter(user=cast.engineer).delete()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {old.key}")
    assert client.get("/api/v1/projects/").json() == {"message": "Invalid token."}
