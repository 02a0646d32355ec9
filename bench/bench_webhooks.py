"""Webhooks under a burst: 1,000 events to a receiver that takes 1 s per request.

`python -m bench webhooks`. Starts the web server `make run` starts (gunicorn with uvicorn workers,
2 workers) and a webhook worker (``-Q webhooks --pool=threads``, 20 threads or
``BENCH_WEBHOOK_THREADS``, as the README suggests for busy sites) on ``BENCH_DATABASE_URL`` /
``BENCH_BROKER_URL`` (default: SQLite and the embedded broker under ``var/bench/webhooks/``), and a
local receiver that answers each delivery after 1 s. Measures ``GET /api/v1/tickets/BENCH-1/`` while
idle, then while 1,000 comments (each a ``comment.created`` event with a delivery) are posted through
the API by 4 clients and drained by the worker; reports web p50/p95 for both, the comment POSTs' own
p50/p95, and the time until the receiver has every delivery.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench" / "webhooks"
EVENTS = int(os.environ.get("BENCH_WEBHOOK_EVENTS", "1000"))
RECEIVER_SECONDS = 1.0
PROBE = "/api/v1/tickets/BENCH-1/"
# Each thread holds a database connection: mind a shared PostgreSQL server's max_connections.
WORKER_THREADS = int(os.environ.get("BENCH_WEBHOOK_THREADS", "20"))

TURN_ON = "from integrations.models import Webhook; Webhook.objects.update(active=True)"
SETUP = """
from django.contrib.auth import get_user_model
from integrations.webhooks import services
from tickets import services as ticket_services
from tickets.models import Membership, Project, Role
from rest_framework.authtoken.models import Token
User = get_user_model()
user, _ = User.objects.get_or_create(username="bench-lead")
user.set_password("bench"); user.save()
project, _ = Project.objects.get_or_create(key="BENCH", defaults={"name": "Webhook bench"})
Membership.objects.get_or_create(project=project, user=user, defaults={"role": Role.LEAD})
project.webhooks.all().delete()
if not project.tickets.exists():
    ticket_services.ticket_create(project=project, actor=user, title="Bench", work_type="review")
services.webhook_create(
    project=project, actor=user, url="{url}", events=["comment.created"], secret="b" * 32, active=False
)
print(Token.objects.get_or_create(user=user)[0].key)
"""


def _env(var: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_", "MEDIA_ROOT"))}
    env.pop("AGILEML_TESTING", None)
    env.update(
        AGILEML_VAR_DIR=str(var), SECRET_KEY="webhook-bench-" + "k" * 40, PYTHONUNBUFFERED="1",
        WEBHOOK_ALLOW_PRIVATE="1", WEBHOOK_QUEUE="webhooks", WEBHOOK_TIMEOUT_SECONDS="10",
    )  # fmt: skip
    if os.environ.get("BENCH_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    if os.environ.get("BENCH_BROKER_URL"):
        env["CELERY_BROKER_URL"] = os.environ["BENCH_BROKER_URL"]
    return env


def _request(port: int, path: str, token: str, body: dict | None = None) -> float | None:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=data, method="POST" if data else "GET",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (http://127.0.0.1 only)
            response.read()
    except OSError:
        return None
    return time.monotonic() - started


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    from tests.agileml.slow_clients import ASYNC_SERVER, WebServer
    from tests.integrations.receiver import Receiver

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    env = _env(WORK)
    receiver = Receiver(delay=RECEIVER_SECONDS).start()
    server = WebServer(WORK, ASYNC_SERVER)
    server.env = env
    server.migrate()
    setup = SETUP.replace("{url}", receiver.url)
    shell = [sys.executable, "manage.py", "shell", "-c", setup]
    made = subprocess.run(shell, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    token = made.stdout.strip().splitlines()[-1]
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "agileml", "worker", "-Q", "webhooks", "--pool=threads",
         f"--concurrency={WORKER_THREADS}", "--without-gossip", "--without-mingle", "--loglevel=WARNING"],
        cwd=ROOT, env=env, stdout=(WORK / "worker.log").open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    server.start()
    try:
        _measure(server.port, token, receiver, env)
    finally:
        server.stop()
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        receiver.stop()


def _burst(port: int, token: str, label: str) -> tuple[list[float], list[float], float]:
    """Post EVENTS comments with 4 clients while probing; (probe times, POST times, seconds)."""
    probes: list[float] = []
    done = threading.Event()

    def probe_loop() -> None:
        while not done.is_set():
            t = _request(port, PROBE, token)
            if t is not None:
                probes.append(t)
            time.sleep(0.05)

    started = time.monotonic()
    prober = threading.Thread(target=probe_loop, daemon=True)
    prober.start()
    with ThreadPoolExecutor(4) as pool:
        results = pool.map(
            lambda i: _request(port, f"{PROBE}comments/", token, {"body": f"{label} {i}"}), range(EVENTS)
        )
        posts = [t for t in results if t is not None]
    done.set()
    prober.join(timeout=30)
    return probes, posts, time.monotonic() - started


def _line(what: str, values: list[float]) -> str:
    return f"  {what}: p50 {_pct(values, 0.5):.0f} ms, p95 {_pct(values, 0.95):.0f} ms ({len(values)} requests)"


def _measure(port: int, token: str, receiver, env: dict[str, str]) -> None:
    for _ in range(5):
        _request(port, PROBE, token)
    idle = [t for t in (_request(port, PROBE, token) for _ in range(60)) if t is not None]
    # The same burst with the endpoint off (no deliveries), then on.
    base_probes, base_posts, base_seconds = _burst(port, token, "baseline")
    subprocess.run([sys.executable, "manage.py", "shell", "-c", TURN_ON], cwd=ROOT, env=env, check=True)
    started = time.monotonic()
    probes, posts, seconds = _burst(port, token, "event")
    draining: list[float] = []
    deadline = time.monotonic() + 1800
    while len({r.headers.get("X-AgileML-Delivery") for r in receiver.requests}) < EVENTS:
        if time.monotonic() > deadline:
            break
        t = _request(port, PROBE, token)
        if t is not None:
            draining.append(t)
        time.sleep(0.05)
    drained = time.monotonic() - started
    got = len({r.headers.get("X-AgileML-Delivery") for r in receiver.requests})
    print(f"  {EVENTS} comment.created events posted by 4 clients; receiver {RECEIVER_SECONDS:.0f} s per request; "
          f"worker --pool=threads --concurrency={WORKER_THREADS}")  # fmt: skip
    print(_line(f"GET {PROBE} idle", idle))
    print(_line(f"GET {PROBE} during the burst, webhook off", base_probes))
    print(_line(f"GET {PROBE} during the burst, webhook on", probes))
    print(
        _line(f"GET {PROBE} after the burst, while deliveries drain", draining) if draining else "  (drained at once)"
    )
    print(_line(f"POST comment, webhook off ({base_seconds:.1f} s for all)", base_posts))
    print(_line(f"POST comment, webhook on ({seconds:.1f} s for all)", posts))
    print(
        f"  receiver had {got} of {EVENTS} deliveries {drained:.1f} s after the burst began "
        f"(1 s each, {WORKER_THREADS} at a time: at least {EVENTS * RECEIVER_SECONDS / WORKER_THREADS:.0f} s)"
    )
