"""Named API tokens: made (shown once, stored hashed), listed with their last use, revoked;
each user sees and revokes only their own; a password change revokes them all."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from knox.crypto import hash_token
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiToken
from tickets.access import NOT_FOUND

pytestmark = pytest.mark.django_db


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def works(key: str) -> bool:
    return bearer(key).get("/api/v1/projects/").status_code == 200


# --- Services ----------------------------------------------------------------------------
def test_a_made_token_is_stored_only_as_its_hash(cast):
    token, key = services.api_token_create(user=cast.engineer, name="laptop MLflow")
    assert key.startswith("agileml_") and len(key) > 60
    row = ApiToken.objects.get(pk=token.pk)
    assert row.digest == hash_token(key) and row.token_key == key[:15]
    assert key not in {row.digest, row.token_key, row.name}
    assert works(key)


@pytest.mark.parametrize(("name", "message"), [("  ", "Name the token"), ("x" * 101, "101 characters long")])
def test_a_token_needs_a_short_name(cast, name, message):
    with pytest.raises(Exception, match=message):
        services.api_token_create(user=cast.engineer, name=name)
    assert not ApiToken.objects.exists()


def test_use_is_recorded_at_most_once_a_minute(cast, django_assert_num_queries):
    token, key = services.api_token_create(user=cast.engineer, name="ci")
    assert token.last_used_at is None
    assert works(key)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    client = bearer(key)
    # The token and its user (1), the projects (1): no write within the minute.
    with django_assert_num_queries(2):
        client.get("/api/v1/projects/")
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - datetime.timedelta(minutes=2))
    assert works(key)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first - datetime.timedelta(seconds=1)


def test_wrong_expired_and_revoked_tokens_are_refused(cast):
    token, key = services.api_token_create(user=cast.engineer, name="ci")
    assert bearer(key[:-1] + ("0" if key[-1] != "0" else "1")).get("/api/v1/projects/").status_code == 401
    ApiToken.objects.filter(pk=token.pk).update(expiry=timezone.now() - datetime.timedelta(seconds=1))
    response = bearer(key).get("/api/v1/projects/")
    assert response.status_code == 401 and "expired" in response.json()["message"]
    ApiToken.objects.filter(pk=token.pk).update(expiry=None)
    assert works(key)
    services.api_token_revoke(token=token)
    assert bearer(key).get("/api/v1/projects/").json() == {"message": "Invalid token."}


def test_a_password_change_revokes_every_token_of_that_user_only(cast):
    _, first = services.api_token_create(user=cast.engineer, name="laptop")
    _, second = services.api_token_create(user=cast.engineer, name="ci")
    legacy = Token.objects.create(user=cast.engineer).key
    _, other = services.api_token_create(user=cast.lead, name="lead's laptop")
    revoked = services.password_change(user=cast.engineer, old_password="pw", new_password="a-new-long-passphrase")
    assert revoked == 3
    assert not works(first) and not works(second) and not works(legacy)
    assert works(other)
    cast.engineer.refresh_from_db()
    assert cast.engineer.check_password("a-new-long-passphrase")


@pytest.mark.parametrize(
    ("old", "new", "field"), [("nope", "a-new-long-passphrase", "old_password"), ("pw", "123", "new_password")]
)
def test_a_refused_password_change_changes_nothing(cast, old, new, field):
    _, key = services.api_token_create(user=cast.engineer, name="laptop")
    with pytest.raises(Exception) as refused:
        services.password_change(user=cast.engineer, old_password=old, new_password=new)
    assert field in refused.value.message_dict
    assert works(key)
    cast.engineer.refresh_from_db()
    assert cast.engineer.check_password("pw")


# --- The API -----------------------------------------------------------------------------
def test_the_api_makes_lists_and_revokes_tokens(cast, api):
    client = api(cast.engineer)
    made = client.post("/api/v1/account/tokens/", {"name": "ci"}, format="json")
    assert made.status_code == 201
    body = made.json()
    assert body["name"] == "ci" and body["token"].startswith(body["token_key"]) and body["last_used_at"] is None
    assert works(body["token"])
    listed = client.get("/api/v1/account/tokens/").json()
    assert [t["name"] for t in listed] == ["ci"]
    assert "token" not in listed[0] and "digest" not in listed[0]
    assert listed[0]["last_used_at"] is not None  # used just above
    assert client.delete(f"/api/v1/account/tokens/{body['id']}/").status_code == 204
    assert not works(body["token"])
    assert client.get("/api/v1/account/tokens/").json() == []


def test_the_api_names_a_missing_name(cast, api):
    response = api(cast.engineer).post("/api/v1/account/tokens/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "name: This field is required."


def test_listing_costs_a_constant_number_of_queries(cast, api, django_assert_num_queries):
    client = api(cast.engineer)
    for n in range(5):
        services.api_token_create(user=cast.engineer, name=f"t{n}")
    # The caller's token (1), the tokens (1).
    with django_assert_num_queries(2):
        assert len(client.get("/api/v1/account/tokens/").json()) == 5


def test_someone_elses_token_is_the_same_404_as_a_missing_one(cast, api):
    token, key = services.api_token_create(user=cast.lead, name="lead's laptop")
    client = api(cast.outsider)
    for method in ("get", "delete"):
        theirs = getattr(client, method)(f"/api/v1/account/tokens/{token.pk}/")
        missing = getattr(client, method)(f"/api/v1/account/tokens/{token.pk + 1000}/")
        junk = getattr(client, method)("/api/v1/account/tokens/abc/")
        assert theirs.status_code == missing.status_code == junk.status_code == 404
        assert theirs.json() == missing.json() == junk.json() == {"message": NOT_FOUND}
    assert client.get("/api/v1/account/tokens/").json() == []
    assert works(key)


def test_the_token_api_needs_a_caller(cast):
    assert APIClient().get("/api/v1/account/tokens/").status_code == 401
    assert APIClient().post("/api/v1/account/tokens/", {"name": "x"}, format="json").status_code == 401


def test_signing_in_through_the_api_may_name_the_token(cast):
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"username": "engineer", "password": "pw", "name": "MLflow on the GPU box"},
        format="json",
    )
    assert response.status_code == 200
    assert ApiToken.objects.get(user=cast.engineer).name == "MLflow on the GPU box"
    assert works(response.json()["token"])


def test_the_mlflow_api_takes_a_named_token(cast):
    _, key = services.api_token_create(user=cast.engineer, name="MLflow")
    body = {"experiment_ids": [str(cast.project.pk)]}
    response = bearer(key).post("/mlflow/api/2.0/mlflow/runs/search", body, format="json")
    assert response.status_code == 200 and response.json() == {"runs": []}
    wrong = bearer(key[:-2] + "zz").post("/mlflow/api/2.0/mlflow/runs/search", body, format="json")
    assert wrong.status_code == 401 and wrong.json()["error_code"] == "UNAUTHENTICATED"
