"""The ASGI application the web server runs (``gunicorn agileml.asgi:application -k agileml.web.Worker``):
Django behind uvicorn's event loop, in ``WEB_THREADS`` threads per process (ThreadPoolASGIHandler).

Django's ASGI handler reads a whole request body (spooled to a temporary file past
``FILE_UPLOAD_MAX_MEMORY_SIZE``) before any view can look at it, so the upload views' size limit
would only speak after the last byte arrived. A request that announces a body larger than any
upload AgileML accepts is answered 413 at once, naming the limit, and its body is never read.
"""

import asyncio
import os
import weakref
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponse, JsonResponse
from django.urls import set_script_prefix

from agileml.env import env_int

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agileml.settings")
# Threads per web process that run requests (ThreadPoolASGIHandler). 0 runs Django's own ASGI handler
# instead, a new thread per request: what the web server did before, kept to measure against.
# Two: with pages served from the cache a request is mostly Python, so more threads contend for the GIL
# (50 members on two cores, `python -m bench load`: 2 x 2 threads ~225 requests/s, 2 x 4 ~195); one
# alone would let a single slow request (an export, an upload's check) hold up its process.
WEB_THREADS = env_int("WEB_THREADS", 2, minimum=0)
# Each of those threads keeps its database connection for 60 s (workers too): at most WEB_CONCURRENCY x
# WEB_THREADS connections from the web server. With a thread per request a persistent connection
# would be left open per thread (50 concurrent users exhausted PostgreSQL's 100 connections,
# `python -m bench load`), so there each request closes its own. DATABASE_CONN_MAX_AGE overrides both.
_CONN_MAX_AGE = None if "DATABASE_CONN_MAX_AGE" in os.environ else ("60" if WEB_THREADS else "0")

# Multipart framing around the largest file, and the form fields that come with it.
_MULTIPART_ALLOWANCE = 1024 * 1024


def body_limit() -> int:
    """The largest request body worth reading: the largest file or request AgileML accepts, plus framing."""
    return max(settings.UPLOAD_MAX_BYTES, settings.ARTIFACT_MAX_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE) + (
        _MULTIPART_ALLOWANCE
    )


def _content_length(scope: dict) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _too_large(scope: dict) -> HttpResponse | None:
    """The 413 answer for a request announcing a body larger than anything AgileML accepts, or None."""
    length = _content_length(scope)
    limit = body_limit()
    if length is None or length <= limit:
        return None
    message = (
        f"The request body of {length:,} bytes is larger than the limit of {limit:,} bytes "
        "(UPLOAD_MAX_BYTES, ARTIFACT_MAX_BYTES and REQUEST_MAX_BYTES, plus 1 MiB)."
    )
    if scope.get("path", "").startswith(("/api/", "/mlflow/", "/ajax-api/")):
        response = JsonResponse({"message": message}, status=413)
    else:
        response = HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
    response["Connection"] = "close"
    return response


class BodyLimitASGIHandler(ASGIHandler):
    async def handle(self, scope, receive, send) -> None:
        response = _too_large(scope)
        if response is not None:
            await self.send_response(response, send)
            return
        await super().handle(scope, receive, send)


class Threads:
    """A process's request threads, handed out one request at a time, each line in the order it came:
    a waiting urgent request (a training script's logging call) first, which a person's page would
    otherwise hold up behind every page asked before it (one script among 50 members got 1/51 of the
    server). While both lines wait they take turns, so scripts logging flat out cannot starve pages."""

    def __init__(self, executors: list[ThreadPoolExecutor]) -> None:
        self._free = list(executors)
        self._waiting: tuple[deque[asyncio.Future], deque[asyncio.Future]] = (deque(), deque())
        self._urgent_last = False

    async def take(self, *, urgent: bool) -> ThreadPoolExecutor:
        if self._free and not self._anyone_waiting():
            return self._free.pop()
        turn = asyncio.get_running_loop().create_future()
        self._waiting[0 if urgent else 1].append(turn)
        try:
            return await turn
        except asyncio.CancelledError:
            # The client went away: a thread handed over meanwhile goes to the next in line.
            if turn.done() and not turn.cancelled():
                self.give(turn.result())
            raise

    def _anyone_waiting(self) -> bool:
        for line in self._waiting:
            while line and line[0].done():  # gone while waiting
                line.popleft()
        return any(self._waiting)

    def give(self, executor: ThreadPoolExecutor) -> None:
        urgent, others = self._waiting
        for line in (others, urgent) if self._urgent_last else (urgent, others):
            while line:
                turn = line.popleft()
                if not turn.done():
                    turn.set_result(executor)
                    self._urgent_last = line is urgent
                    return
        self._free.append(executor)


class ThreadPoolASGIHandler(ASGIHandler):
    """Django behind the event loop, run in a fixed set of threads per process.

    The event loop reads request headers and bodies (spooled to disk past
    ``FILE_UPLOAD_MAX_MEMORY_SIZE``), so slow clients hold no thread. Then the whole request, the
    middleware and the view, runs in one of ``threads`` threads in a single hop, and each thread keeps
    its database connection (``DATABASE_CONN_MAX_AGE``). Django's own ASGI handler starts a thread,
    and so a database connection, per request, and crosses between the loop and threads several times
    per request around middleware that is synchronous only.
    """

    def __init__(self, threads: int) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self._executors = [ThreadPoolExecutor(max_workers=1, thread_name_prefix="web") for _ in range(threads)]
        # The threads, per event loop (one in a server; tests start several).
        self._threads: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Threads] = weakref.WeakKeyDictionary()
        from experiments.tracking.middleware import is_logging_call

        self._urgent = is_logging_call

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"AgileML serves HTTP only, not {scope['type']}.")
        response = _too_large(scope)
        if response is not None:
            await self.send_response(response, send)
            return
        try:
            body = await self.read_body(receive)
        except RequestAborted:
            return
        threads = self._threads.get(asyncio.get_running_loop())
        if threads is None:
            threads = self._threads[asyncio.get_running_loop()] = Threads(self._executors)
        path = scope["path"].removeprefix(scope.get("root_path", ""))
        try:
            executor = await threads.take(urgent=self._urgent(scope["method"], path))
        except BaseException:
            body.close()
            raise
        try:
            async with ThreadSensitiveContext(executor=executor):
                response = await sync_to_async(self._respond, thread_sensitive=True)(scope, body)
                try:
                    await self.send_response(response, send)
                finally:
                    if response.streaming:
                        await sync_to_async(response.close, thread_sensitive=True)()
        finally:
            body.close()
            threads.give(executor)

    def _respond(self, scope: dict, body) -> HttpResponse:
        """The request's whole life in the app, in its thread; a page's answer is closed (and
        ``request_finished`` sent) here, a streamed one after it is sent."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        if not response.streaming:
            response.close()
        return response


# Set for the settings only, so that processes started from this one (tests) do not inherit it.
if _CONN_MAX_AGE is not None:
    os.environ["DATABASE_CONN_MAX_AGE"] = _CONN_MAX_AGE
try:
    django.setup(set_prefix=False)
finally:
    if _CONN_MAX_AGE is not None:
        del os.environ["DATABASE_CONN_MAX_AGE"]
application = ThreadPoolASGIHandler(WEB_THREADS) if WEB_THREADS else BodyLimitASGIHandler()
