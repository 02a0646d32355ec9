"""Sign-in is throttled per username and per address (django-axes), on the login page and on
POST /api/v1/auth/token/: 429 with Retry-After, a JSON message for the API, a form error on the page."""

from __future__ import annotations

import datetime

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

LIMIT = settings.AXES_FAILURE_LIMIT
COOL_OFF = int(settings.AXES_COOLOFF_TIME.total_seconds())


def token_attempt(username: str, password: str, address: str = "10.0.0.1"):
    return APIClient(REMOTE_ADDR=address).post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
    )


def login_attempt(username: str, password: str, address: str = "10.0.0.1"):
    client = Client(REMOTE_ADDR=address)
    return client, client.post("/login/", {"username": username, "password": password})


def test_the_token_endpoint_locks_a_user_out_after_the_limit(cast):
    for _ in range(LIMIT - 1):
        assert token_attempt("lead", "wrong").status_code == 400
    locked = token_attempt("lead", "wrong")
    assert locked.status_code == 429
    assert locked["Retry-After"] == str(COOL_OFF)
    message = "Too many failed sign-ins for this account or from this address. Try again in 15 minutes."
    assert locked.json() == {"message": message}
    # Even the right password is refused until the cool-off has passed.
    assert token_attempt("lead", "pw").status_code == 429


def test_the_lock_is_per_user_from_any_address(cast):
    for n in range(LIMIT):
        token_attempt("lead", "wrong", address=f"10.0.1.{n}")
    assert token_attempt("lead", "pw", address="10.9.9.9").status_code == 429
    assert token_attempt("engineer", "pw", address="10.9.9.9").status_code == 200


def test_the_lock_is_per_address_for_any_user(cast):
    for n in range(LIMIT):
        token_attempt(f"guess{n}", "wrong", address="10.0.2.1")
    assert token_attempt("engineer", "pw", address="10.0.2.1").status_code == 429
    assert token_attempt("engineer", "pw", address="10.0.2.2").status_code == 200


def test_the_lock_ends_after_the_cool_off(cast):
    for _ in range(LIMIT):
        token_attempt("lead", "wrong")
    assert token_attempt("lead", "pw").status_code == 429
    AccessAttempt.objects.update(attempt_time=datetime.datetime.now(datetime.UTC) - settings.AXES_COOLOFF_TIME * 2)
    response = token_attempt("lead", "pw")
    assert response.status_code == 200 and response.json()["token"]


def test_the_login_page_shows_the_lock_as_a_form_error(cast):
    for _ in range(LIMIT - 1):
        _, response = login_attempt("lead", "wrong")
        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()
    _, locked = login_attempt("lead", "wrong")
    assert locked.status_code == 429
    assert locked["Retry-After"] == str(COOL_OFF)
    page = locked.content.decode()
    assert "Too many failed sign-ins for this account or from this address" in page
    assert '<form method="post"' in page and 'value="lead"' in page
    client, refused = login_attempt("lead", "pw")
    assert refused.status_code == 429
    assert client.get("/projects/").status_code == 302  # not logged in


def test_the_page_and_the_api_share_one_count(cast):
    for _ in range(LIMIT - 1):
        login_attempt("lead", "wrong")
    assert token_attempt("lead", "wrong").status_code == 429
    _, response = login_attempt("lead", "pw")
    assert response.status_code == 429


def test_logging_in_forgets_earlier_failures(cast):
    for _ in range(LIMIT - 1):
        token_attempt("lead", "wrong")
    _, response = login_attempt("lead", "pw")
    assert response.status_code == 302
    for _ in range(LIMIT - 1):
        assert token_attempt("lead", "wrong").status_code == 400
