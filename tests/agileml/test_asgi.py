"""The ASGI application refuses a body larger than anything AgileML accepts before reading it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json

import pytest

from agileml.asgi import application, body_limit


def _call(path: str, headers: list[tuple[bytes, bytes]], method: str = "POST") -> tuple[int, bytes, int]:
    sent: list[dict] = []
    reads = 0

    async def receive() -> dict:
        nonlocal reads
        reads += 1
        if reads > 1:  # after the body, a client that stays connected
            await asyncio.Event().wait()
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    # In a thread of its own: browser tests may leave an event loop running in this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, application(scope, receive, send)).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body, reads


def test_an_announced_body_above_the_limit_is_refused_unread():
    too_big = str(body_limit() + 1).encode()

    status, body, reads = _call("/api/v1/runs/1/predictions/", [(b"content-length", too_big)])

    assert status == 413
    assert "UPLOAD_MAX_BYTES" in json.loads(body)["message"]
    assert reads == 0


def test_a_page_gets_the_refusal_as_text():
    status, body, _ = _call("/p/AUTH/benchmarks/1/submit/", [(b"content-length", str(body_limit() + 1).encode())])

    assert status == 413
    assert b"is larger than the limit" in body


@pytest.mark.django_db(transaction=True)
def test_requests_within_the_limit_are_served():
    status, body, _ = _call("/login/", [], method="GET")

    assert status == 200
    assert b"csrfmiddlewaretoken" in body


@pytest.mark.parametrize(("override", "expected"), [(None, "0"), ("30", "30")])
def test_the_web_server_closes_database_connections_after_each_request(override, expected):
    """Under ASGI each request's database work runs in a thread of its own: persistent connections
    would pile up one per thread until PostgreSQL refuses more (``python -m bench load``)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_CONN_MAX_AGE", "DJANGO_SETTINGS_MODULE")}
    env.update(DATABASE_URL="postgres://postgres@127.0.0.1:5432/test", SECRET_KEY="k" * 50)
    if override is not None:
        env["DATABASE_CONN_MAX_AGE"] = override
    code = "import agileml.asgi; from django.conf import settings; print(settings.DATABASES['default']['CONN_MAX_AGE'])"
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == expected
    worker = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='agileml.settings'; django.setup(); "
    worker += "from django.conf import settings; print(settings.DATABASES['default']['CONN_MAX_AGE'])"
    env.pop("DATABASE_CONN_MAX_AGE", None)
    shown = subprocess.run([sys.executable, "-c", worker], env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "60"
