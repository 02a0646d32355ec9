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


@pytest.mark.parametrize(
    ("threads", "override", "expected"), [(None, None, "60"), (None, "30", "30"), ("0", None, "0"), ("0", "30", "30")]
)
def test_the_web_server_keeps_a_database_connection_per_thread(threads, override, expected):
    """The web server runs requests in a fixed set of threads, each keeping its connection; with a
    thread per request (``WEB_THREADS=0``) connections would pile up one per thread until PostgreSQL
    refuses more (``python -m bench load``), so there each request closes its own."""
    import os
    import subprocess
    import sys

    drop = ("DATABASE_CONN_MAX_AGE", "DJANGO_SETTINGS_MODULE", "WEB_THREADS")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(DATABASE_URL="postgres://postgres@127.0.0.1:5432/test", SECRET_KEY="k" * 50)
    if override is not None:
        env["DATABASE_CONN_MAX_AGE"] = override
    if threads is not None:
        env["WEB_THREADS"] = threads
    code = "import agileml.asgi; from django.conf import settings; print(settings.DATABASES['default']['CONN_MAX_AGE'])"
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == expected
    worker = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='agileml.settings'; django.setup(); "
    worker += "from django.conf import settings; print(settings.DATABASES['default']['CONN_MAX_AGE'])"
    env.pop("DATABASE_CONN_MAX_AGE", None)
    env.pop("WEB_THREADS", None)
    shown = subprocess.run([sys.executable, "-c", worker], env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "60"


@pytest.mark.django_db(transaction=True)
def test_requests_run_in_a_fixed_set_of_threads_and_a_slow_body_holds_none():
    import threading

    from django.core.signals import request_started

    from agileml.asgi import ThreadPoolASGIHandler

    handler = ThreadPoolASGIHandler(threads=1)
    threads: set[int] = set()

    def note_thread(**kwargs):
        threads.add(threading.get_ident())

    def scope(path: str, method: str = "GET") -> dict:
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"content-length", b"100")] if method == "POST" else [],
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
        }

    async def scenario() -> list[int]:
        async def trickle() -> dict:  # a client that sends part of its body, then nothing
            await asyncio.sleep(0)
            if trickle.sent:
                await asyncio.Event().wait()
            trickle.sent = True
            return {"type": "http.request", "body": b"x", "more_body": True}

        trickle.sent = False
        slow = asyncio.create_task(handler(scope("/login/", "POST"), trickle, _ignore))
        statuses = []
        for _ in range(4):
            sent: list[dict] = []

            async def send(message, sent=sent):
                sent.append(message)

            await asyncio.wait_for(handler(scope("/login/"), _whole_body, send), timeout=30)
            statuses.append(next(m for m in sent if m["type"] == "http.response.start")["status"])
        slow.cancel()
        return statuses

    request_started.connect(note_thread)
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            statuses = pool.submit(asyncio.run, scenario()).result()
    finally:
        request_started.disconnect(note_thread)
    # The one thread served every page while the slow client was still sending its body.
    assert statuses == [200] * 4
    assert len(threads) == 1


async def _whole_body() -> dict:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _ignore(message: dict) -> None:
    pass


def _run(coroutine):
    # In a thread of its own: browser tests may leave an event loop running in this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_a_free_thread_goes_to_a_waiting_logging_call_before_waiting_pages():
    from agileml.asgi import Threads

    async def scenario() -> list[str]:
        only = concurrent.futures.ThreadPoolExecutor(1)
        threads = Threads([only])
        assert await threads.take(urgent=False) is only  # a page holds the one thread
        order: list[str] = []

        async def request(name: str, urgent: bool) -> None:
            executor = await threads.take(urgent=urgent)
            order.append(name)
            threads.give(executor)

        tasks = [asyncio.create_task(request(n, n.startswith("log"))) for n in ("page-1", "page-2", "log", "page-3")]
        await asyncio.sleep(0)  # each has asked for a thread and waits
        assert order == []
        threads.give(only)
        await asyncio.gather(*tasks)
        only.shutdown()
        return order

    assert _run(scenario()) == ["log", "page-1", "page-2", "page-3"]


def test_while_pages_wait_logging_calls_take_turns_with_them():
    from agileml.asgi import Threads

    async def scenario() -> list[str]:
        only = concurrent.futures.ThreadPoolExecutor(1)
        threads = Threads([only])
        await threads.take(urgent=False)
        order: list[str] = []

        async def request(name: str) -> None:
            executor = await threads.take(urgent=name.startswith("log"))
            order.append(name)
            threads.give(executor)

        names = ("log-1", "log-2", "log-3", "log-4", "page-1", "page-2")
        tasks = [asyncio.create_task(request(n)) for n in names]
        await asyncio.sleep(0)
        threads.give(only)
        await asyncio.gather(*tasks)
        only.shutdown()
        return order

    assert _run(scenario()) == ["log-1", "page-1", "log-2", "page-2", "log-3", "log-4"]


def test_a_request_gone_while_waiting_takes_no_thread_with_it():
    from agileml.asgi import Threads

    async def scenario() -> None:
        only = concurrent.futures.ThreadPoolExecutor(1)
        threads = Threads([only])
        await threads.take(urgent=False)
        gone_before = asyncio.create_task(threads.take(urgent=True))
        gone_after = asyncio.create_task(threads.take(urgent=True))
        waiting = asyncio.create_task(threads.take(urgent=False))
        await asyncio.sleep(0)
        gone_before.cancel()  # its client left before a thread was free
        await asyncio.sleep(0)
        threads.give(only)  # handed to gone_after, whose client leaves before it runs
        gone_after.cancel()
        assert await asyncio.wait_for(waiting, 30) is only
        threads.give(only)
        assert await asyncio.wait_for(threads.take(urgent=False), 30) is only
        only.shutdown()

    _run(scenario())


@pytest.mark.django_db(transaction=True)
def test_the_server_runs_a_waiting_logging_call_first():
    from django.core.signals import request_started

    from agileml.asgi import ThreadPoolASGIHandler, Threads

    handler = ThreadPoolASGIHandler(threads=1)
    started: list[str] = []

    def note(scope=None, **kwargs):
        started.append(scope["path"])

    def scope(path: str, method: str) -> dict:
        return {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
            "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
        }  # fmt: skip

    async def scenario() -> list[int]:
        # A page already holds the thread: the next requests queue.
        threads = handler._threads[asyncio.get_running_loop()] = Threads(handler._executors)
        busy = await threads.take(urgent=False)
        statuses: list[int] = []

        async def call(path: str, method: str) -> None:
            sent: list[dict] = []

            async def send(message, sent=sent):
                sent.append(message)

            await handler(scope(path, method), _whole_body, send)
            statuses.append(next(m for m in sent if m["type"] == "http.response.start")["status"])

        tasks = [
            asyncio.create_task(call("/login/", "GET")),
            asyncio.create_task(call("/login/", "GET")),
            asyncio.create_task(call("/mlflow/api/2.0/mlflow/runs/log-metric", "POST")),
        ]
        await asyncio.sleep(0)  # each has read its body and waits for the thread
        threads.give(busy)
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
        return statuses

    request_started.connect(note)
    try:
        statuses = _run(scenario())
    finally:
        request_started.disconnect(note)
    assert started == ["/mlflow/api/2.0/mlflow/runs/log-metric", "/login/", "/login/"]
    assert sorted(statuses) == [200, 200, 401]
