import re

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db


def test_schema_generates_without_warnings(capsys):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    captured = capsys.readouterr()
    assert "Warning" not in captured.err and "Error" not in captured.err, captured.err
    assert "/api/v1/projects/{key}/members/" in schema["paths"]
    assert "/api/v1/auth/token/" in schema["paths"]


def test_schema_and_docs_are_served_offline(client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/").content.decode()
    # Swagger UI assets come from this server, never a CDN.
    assert not re.search(r"https?://(?!localhost)[^\"']+\.(js|css)", docs), docs
    assert "/static/drf_spectacular_sidecar/" in docs


def test_healthz_without_a_worker_still_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"]["ok"] is True
    assert "worker" in response.json()["failing"]
