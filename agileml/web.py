"""The web server's worker: uvicorn's event loop under gunicorn, serving ``agileml.asgi``.

One event loop holds any number of slow connections at no cost, so clients that trickle their
headers or bodies cannot occupy the workers other users need (a thread per connection can be).
Django reads a request body in full (spooled to disk past ``FILE_UPLOAD_MAX_MEMORY_SIZE``)
before a view runs. Two additions to uvicorn's own worker:

- a connection that has not sent complete request headers within ``WEB_HEADER_TIMEOUT`` seconds
  is closed (uvicorn has no such timeout);
- a worker whose gunicorn master died exits, so a restarted master can bind the port again.

``make run`` starts it: ``gunicorn agileml.asgi:application -k agileml.web.Worker``.
"""

from __future__ import annotations

import asyncio
import os
import signal

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn_worker import UvicornWorker

from agileml.env import env_int

HEADER_TIMEOUT = env_int("WEB_HEADER_TIMEOUT", 10, minimum=1)


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection that is too slow to send request headers."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_timer()

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
        self._header_timer = self.loop.call_later(HEADER_TIMEOUT, self._header_timeout)

    def _header_timeout(self) -> None:
        # h11 stays IDLE on the client side until a request's headers are complete.
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.logger.info("Closed a connection that sent no complete request headers in %ss", HEADER_TIMEOUT)
            self.transport.close()


class Worker(UvicornWorker):
    CONFIG_KWARGS = {"loop": "asyncio", "http": HeaderTimeoutProtocol}

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
