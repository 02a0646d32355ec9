"""Slow clients: 50 connections trickling request headers at 1 byte/s, and one user loading a page.

`python -m bench slowclients`. Starts each web server on SQLite under ``var/bench/slowclients/``:
the one `make run` starts now (gunicorn with uvicorn workers, agileml/web.py, 2 workers) and the
one it started before (gunicorn threads, 2 workers x 4 threads). For each, the time of
``GET /login/`` alone (median of 5), then with the 50 slow connections open (5 tries, each given
at most 10 s; a try that gets no page counts as a timeout).
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench" / "slowclients"
TRIES = 5
TIMEOUT = 10.0


def _figures(label: str, args: list[str]) -> None:
    from tests.agileml.slow_clients import Tricklers, WebServer, timed_get

    var = WORK / label.split()[0]
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    # A long header timeout: measure the starving, not how soon the new server cuts slow clients off.
    server = WebServer(var, args, WEB_HEADER_TIMEOUT="60")
    server.migrate()
    server.start()
    try:
        alone = [timed_get(server.port, timeout=TIMEOUT) for _ in range(TRIES)]
        with Tricklers(server.port, count=50):
            time.sleep(1.5)
            slowed = [timed_get(server.port, timeout=TIMEOUT) for _ in range(TRIES)]
    finally:
        server.stop()
    answered = [t for t in slowed if t is not None]
    print(f"  {label}:")
    print(f"    GET /login/ alone: median {statistics.median([t for t in alone if t]) * 1000:.0f} ms")
    with_slow = f"median {statistics.median(answered) * 1000:.0f} ms" if answered else "no answer"
    print(f"    with 50 slow clients: {with_slow}; {TRIES - len(answered)} of {TRIES} timed out after {TIMEOUT:.0f}s")


def main() -> None:
    from tests.agileml.slow_clients import ASYNC_SERVER, THREADED_SERVER

    _figures("uvicorn workers under gunicorn (make run now)", ASYNC_SERVER)
    _figures("threaded gunicorn (make run before)", THREADED_SERVER)
