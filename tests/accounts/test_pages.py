"""The account pages: API tokens (make, list, revoke) and the password change."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiToken
from tickets.access import NOT_FOUND

pytestmark = pytest.mark.django_db


def works(key: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/projects/").status_code == 200


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/account/tokens/"),
        ("post", "/account/tokens/"),
        ("post", "/account/tokens/1/revoke/"),
        ("post", "/account/tokens/unnamed/revoke/"),
        ("get", "/account/password/"),
        ("post", "/account/password/"),
    ],
)
def test_anonymous_visitors_are_sent_to_log_in(client, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_a_made_token_is_shown_once(web, cast):
    client = web(cast.engineer)
    response = client.post("/account/tokens/", {"name": "laptop MLflow"})
    assert response.status_code == 200
    key = response.context["new_token"]
    page = response.content.decode()
    assert key in page and "Copy the token now" in page
    assert works(key)
    again = client.get("/account/tokens/").content.decode()
    assert key not in again
    assert "laptop MLflow" in again and ApiToken.objects.get().token_key in again
    assert response["Cache-Control"].startswith("max-age=0")


def test_a_nameless_token_is_refused_with_the_field_named(web, cast):
    response = web(cast.engineer).post("/account/tokens/", {"name": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_each_user_sees_only_their_own_tokens(web, cast, django_assert_num_queries):
    for n in range(3):
        services.api_token_create(user=cast.engineer, name=f"engineer token {n}")
    services.api_token_create(user=cast.lead, name="lead token")
    client = web(cast.engineer)
    client.get("/account/tokens/")  # warm the session
    # Session and user (2), navigation memberships (1), tokens (1), unnamed token (1).
    with django_assert_num_queries(5):
        page = client.get("/account/tokens/").content.decode()
    assert page.count("<td>engineer token") == 3 and "lead token" not in page
    assert "lead token" in web(cast.lead).get("/account/tokens/").content.decode()


def test_revoking_a_token_stops_it(web, cast):
    token, key = services.api_token_create(user=cast.engineer, name="ci")
    response = web(cast.engineer).post(f"/account/tokens/{token.pk}/revoke/", follow=True)
    assert "Token “ci” is revoked" in response.content.decode()
    assert not works(key)


def test_someone_elses_token_cannot_be_revoked_and_looks_missing(web, cast):
    token, key = services.api_token_create(user=cast.lead, name="lead's laptop")
    client = web(cast.outsider)
    theirs = client.post(f"/account/tokens/{token.pk}/revoke/")
    missing = client.post(f"/account/tokens/{token.pk + 1000}/revoke/")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content and NOT_FOUND in theirs.content.decode()
    assert works(key)


def test_the_unnamed_token_is_listed_and_revoked(web, cast):
    legacy = Token.objects.create(user=cast.engineer)
    client = web(cast.engineer)
    assert "Unnamed (made before named tokens)" in client.get("/account/tokens/").content.decode()
    client.post("/account/tokens/unnamed/revoke/")
    assert not works(legacy.key)
    assert "Unnamed" not in client.get("/account/tokens/").content.decode()


def test_changing_the_password_revokes_the_tokens_and_keeps_the_session(web, cast):
    _, key = services.api_token_create(user=cast.engineer, name="laptop")
    client = web(cast.engineer)
    response = client.post(
        "/account/password/",
        {"old_password": "pw", "new_password": "a-new-long-passphrase", "new_password_again": "a-new-long-passphrase"},
        follow=True,
    )
    assert "Password changed. 1 API token revoked" in response.content.decode()
    assert not works(key)
    assert client.get("/account/tokens/").status_code == 200  # still logged in
    cast.engineer.refresh_from_db()
    assert cast.engineer.check_password("a-new-long-passphrase")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"old_password": "nope", "new_password": "a-new-long-passphrase"}, "This is not your current password."),
        ({"old_password": "pw", "new_password": "short"}, "This password is too short."),
        ({"old_password": "pw", "new_password": "a-new-long-passphrase", "new_password_again": "x"}, "differ"),
    ],
)
def test_a_refused_password_change_names_the_field_and_keeps_the_tokens(web, cast, data, message):
    _, key = services.api_token_create(user=cast.engineer, name="laptop")
    data.setdefault("new_password_again", data["new_password"])
    response = web(cast.engineer).post("/account/password/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert works(key)
