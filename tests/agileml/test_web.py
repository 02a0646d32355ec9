"""Fifty clients trickling request headers at 1 byte/s do not delay anyone else's page (real server, loopback)."""

from __future__ import annotations

import time

import pytest

from tests.agileml.slow_clients import ASYNC_SERVER, Tricklers, WebServer, timed_get

pytestmark = pytest.mark.worker

# The threaded server `make run` used before answered none of these within 10 s (bench slowclients).
DEADLINE = 3.0


@pytest.fixture
def server(tmp_path):
    server = WebServer(tmp_path, ASYNC_SERVER, WEB_HEADER_TIMEOUT="8")
    server.migrate()
    server.start()
    yield server
    server.stop()


def test_slow_clients_do_not_delay_other_pages_and_are_cut_off(server):
    started = time.monotonic()
    with Tricklers(server.port, count=50) as tricklers:
        time.sleep(1.5)  # every slow connection is open and has sent its first bytes
        assert len(tricklers.sockets) == 50
        times = [timed_get(server.port, timeout=DEADLINE) for _ in range(5)]
        assert all(t is not None for t in times), f"GET /login/ did not return within {DEADLINE}s: {times}"

        # WEB_HEADER_TIMEOUT=8: the server closes connections that never completed their headers.
        deadline = time.monotonic() + 20
        while tricklers.closed_by_server < 50 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert tricklers.closed_by_server == 50
    assert time.monotonic() - started < 30
