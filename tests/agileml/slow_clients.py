"""Slow clients against a real web server: connections that trickle request headers at 1 byte/s.

Used by tests/agileml/test_slow_clients.py and ``python -m bench slowclients``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from tests.agileml.stack import BIN, ROOT, free_port

# The web server `make run` starts (supervisord.conf), and the one it started before.
ASYNC_SERVER = ["agileml.asgi:application", "-c", "python:agileml.gunicorn_conf", "--workers", "2"]
THREADED_SERVER = ["agileml.wsgi", "--workers", "2", "--threads", "4", "--timeout", "120"]


class WebServer:
    def __init__(self, var: Path, args: list[str], **extra_env: str) -> None:
        self.var = var
        self.port = free_port()
        self.args = args
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_", "MEDIA_ROOT"))}
        env.pop("AGILEML_TESTING", None)
        env.update(AGILEML_VAR_DIR=str(var), SECRET_KEY="slow-client-test-" + "k" * 40, PYTHONUNBUFFERED="1")
        env.update(extra_env)
        self.env = env
        self.proc: subprocess.Popen | None = None

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
        )

    def start(self, timeout: float = 90) -> None:
        cmd = [str(BIN / "gunicorn"), *self.args, "--bind", f"127.0.0.1:{self.port}"]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=(self.var / "web.log").open("ab"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"web server exited; see {self.var / 'web.log'}")
            if timed_get(self.port, timeout=5) is not None:
                return
            time.sleep(0.3)
        raise RuntimeError("web server did not answer")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def timed_get(port: int, path: str = "/login/", timeout: float = 10) -> float | None:
    """Seconds for a whole GET of ``path`` answered 200, or None if it failed or timed out."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            response.read()
            if response.status != 200:
                return None
    except OSError:
        return None
    return time.monotonic() - started


class Tricklers:
    """``count`` connections, each sending one more byte of a request's headers every second."""

    REQUEST = b"GET /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow\r\nX-Padding: " + b"x" * 200

    def __init__(self, port: int, count: int = 50) -> None:
        self.port = port
        self.count = count
        self.sockets: list[socket.socket] = []
        self.closed_by_server = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Tricklers:
        for _ in range(self.count):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            sock.setblocking(False)
            self.sockets.append(sock)
        self._thread.start()
        return self

    def _run(self) -> None:
        position = 0
        while not self._stop.is_set() and position < len(self.REQUEST):
            byte = self.REQUEST[position : position + 1]
            for sock in list(self.sockets):
                try:
                    if sock.recv(1, socket.MSG_PEEK) == b"":
                        raise ConnectionResetError
                except BlockingIOError:
                    pass  # nothing from the server: still open
                except OSError:
                    self.sockets.remove(sock)
                    self.closed_by_server += 1
                    continue
                try:
                    sock.send(byte)
                except BlockingIOError:
                    pass
                except OSError:
                    self.sockets.remove(sock)
                    self.closed_by_server += 1
            position += 1
            self._stop.wait(1.0)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()
