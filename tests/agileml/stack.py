"""The supervised stack of ``make run`` (supervisord.conf) in a temporary var/ on a free port.

Used by the supervision tests and ``python -m bench recovery``. Embedded SQLite and broker, as on
a fresh machine; processes are found through /proc.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces; the parent pid follows the state.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Stack:
    def __init__(self, var: Path, **extra_env: str) -> None:
        self.var = var
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_", "MEDIA_ROOT"))}
        env.pop("AGILEML_TESTING", None)
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        env.update(
            AGILEML_VAR_DIR=str(var),
            SECRET_KEY="stack-test-secret-key-" + "x" * 40,
            HOST="127.0.0.1",
            PORT=str(self.port),
            WEB_CONCURRENCY="1",
            WORKER_CONCURRENCY="1",
            PATH=f"{BIN}:{env.get('PATH', '')}",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra_env)
        self.env = env
        self.log = var / "stack.log"
        self.proc: subprocess.Popen | None = None

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=True
        )

    def start(self, timeout: float = 120) -> float:
        """Start supervisord; return the seconds until /healthz answered 200."""
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [str(BIN / "supervisord"), "-n", "-c", str(ROOT / "supervisord.conf")],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        self.wait_for(lambda: self.get("/healthz")[0] == 200, timeout, "a healthy stack")
        return time.monotonic() - started

    def program(self, name: str) -> int:
        """The pid of one supervised program's main process (web: the gunicorn master)."""
        for pid in children(self.proc.pid):
            line = cmdline(pid)
            if (name == "web" and "gunicorn" in line) or (name in ("worker", "beat") and f" {name} " in line):
                return pid
        raise LookupError(name)

    def get(self, path: str, timeout: float = 5) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as response:  # noqa: S310 - loopback
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (OSError, urllib.error.URLError):
            return 0, b""

    def wait_for(self, predicate, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"supervisord exited with {self.proc.returncode}; see {self.log}")
            try:
                value = predicate()
            except LookupError:
                value = None
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; see {self.log}")

    def all_pids(self) -> list[int]:
        pids, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            todo.extend(children(pid))
        return pids

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                for pid in reversed(self.all_pids()):
                    os.kill(pid, signal.SIGKILL)
                self.proc.wait()

    # --- a queued task, observed in the stack's database ---------------------------------
    def run_a_task(self, timeout: float = 60) -> None:
        """Queue the session-cleaning job through the stack's broker and wait until it has run."""
        from tests.agileml.broker_tasks import producer_app

        key = f"expired{time.monotonic_ns()}"
        with sqlite3.connect(self.var / "agileml.sqlite3", timeout=30) as db:
            db.execute(
                "INSERT INTO django_session (session_key, session_data, expire_date) VALUES (?, '', ?)",
                (key, "2000-01-01 00:00:00"),
            )
        producer_app(self.var / "broker").send_task("agileml.tasks.clear_expired_sessions")

        def gone() -> bool:
            with sqlite3.connect(self.var / "agileml.sqlite3", timeout=30) as db:
                return db.execute("SELECT 1 FROM django_session WHERE session_key = ?", (key,)).fetchone() is None

        self.wait_for(gone, timeout, "the queued task")
