"""The web server's worker: uvicorn's event loop under gunicorn, serving ``agileml.asgi``.

One event loop holds any number of slow connections at no cost, so clients that trickle their
headers or bodies cannot occupy the workers other users need (a thread per connection can be).
Django reads a request body in full (spooled to disk past ``FILE_UPLOAD_MAX_MEMORY_SIZE``)
before a view runs. The loop is uvloop's (libuv) and requests are parsed by httptools (llhttp):
against asyncio's loop and the pure-Python h11 parser they took a kept page from about 200 to about
230 requests/s on two cores (`python -m bench load`). Two additions to uvicorn's own worker:

- a connection that has not sent complete request headers within ``WEB_HEADER_TIMEOUT`` seconds
  is closed (uvicorn has no such timeout);
- a worker whose gunicorn master died exits, so a restarted master can bind the port again.

``make run`` starts it: ``gunicorn agileml.asgi:application -k agileml.web.Worker``.
"""

from __future__ import annotations

import asyncio
import os
import signal

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker

from agileml.env import env_int

HEADER_TIMEOUT = env_int("WEB_HEADER_TIMEOUT", 10, minimum=1)


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (llhttp, a C parser), closing a connection that has not sent complete
    request headers within ``HEADER_TIMEOUT`` seconds of connecting or of its last answer."""

    _header_timer: asyncio.TimerHandle | None = None
    _headers_seen = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_timer()

    def on_headers_complete(self) -> None:
        self._headers_seen += 1
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._start_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        super().connection_lost(exc)

    def _start_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        self._header_timer = self.loop.call_later(HEADER_TIMEOUT, self._header_timeout, self._headers_seen)

    def _header_timeout(self, seen: int) -> None:
        # No request's headers completed since the timer started, and none is being answered.
        idle = self.cycle is None or self.cycle.response_complete
        if seen == self._headers_seen and idle and not self.transport.is_closing():
            self.logger.info("Closed a connection that sent no complete request headers in %ss", HEADER_TIMEOUT)
            self.transport.close()


class Worker(UvicornWorker):
    CONFIG_KWARGS = {"loop": "uvloop", "http": HeaderTimeoutProtocol}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # uvicorn calls back this often; each call tells the master we are alive and checks it is.
        self.config.timeout_notify = 1

    async def callback_notify(self) -> None:
        if os.getppid() != self.ppid:
            self.log.warning("Web worker %s: the master process died; exiting", os.getpid())
            os.kill(os.getpid(), signal.SIGTERM)
            return
        self.notify()
