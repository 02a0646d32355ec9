"""Fixtures for runs: the real MLflow client pointed at a live AgileML server."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def mlflow_as(live_server, monkeypatch, media):
    """``mlflow_as(user)`` → the ``mlflow`` module logging into the live server with that user's token."""
    import mlflow

    uri = f"{live_server.url}/mlflow"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    # A failing request should fail the test at once, not after minutes of back-off.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    mlflow.set_tracking_uri(uri)

    def as_user(user):
        if user is None:
            monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
        else:
            token, _ = Token.objects.get_or_create(user=user)
            monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token.key)
        return mlflow

    yield as_user
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.tracking.fluent._active_experiment_id = None
    mlflow.set_tracking_uri(None)


def mlflow_post(client, path: str, body: dict, user=None, token: str | None = None):
    """POST JSON to ``/mlflow/api/2.0/mlflow/<path>`` with the Django test client."""
    headers = {}
    if user is not None:
        token = Token.objects.get_or_create(user=user)[0].key
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.post(f"/mlflow/api/2.0/mlflow/{path}", body, content_type="application/json", **headers)


def mlflow_get(client, path: str, params: dict, user=None):
    headers = {}
    if user is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {Token.objects.get_or_create(user=user)[0].key}"
    return client.get(f"/mlflow/api/2.0/mlflow/{path}", params, **headers)
