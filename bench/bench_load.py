"""A whole team at once: `python -m bench load`.

Builds a busy project (2,000 tickets with their history, 2,000 runs, 400 evaluations, 20 sprints:
``bench_dashboards``' project at 0.4 scale) in a throwaway database, starts the web server as
`make run` does (gunicorn, 2 uvicorn workers) on it, and lets 1, 10 and then 50 logged-in members
(leads, engineers, stakeholders) cycle through nine pages — overview, backlog, board, runs,
ticket, dashboard, benchmark, evaluation, demo — each on its own keep-alive connection, asking for
gzip as browsers do. Prints throughput, p50/p95/p99 per page, errors and bytes on the wire.

Pages are kept whole per role and content version (tickets.fragments.shared_page), so a project
nobody changes is the best case. ``--writes N`` has a lead change a ticket's title N times a second
throughout (through the service, as the page would), so every kept page of the project goes stale
that often and is rendered again: the figure to quote next to the read-only one.

Run it with DATABASE_URL pointing at PostgreSQL to measure what production runs (the throwaway
database is test_bench_load there). LOAD_SECONDS (default 30) sets each phase's length.

    python -m bench load [--writes 1] [--users 1,10,50]
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agileml.settings")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

SCALE = 0.4
SECONDS = float(os.environ.get("LOAD_SECONDS", "30"))
USERS = (1, 10, 50)
ROLES = (("lead", 5), ("engineer", 35), ("stakeholder", 10))


def _setup_database():
    import django
    from django.conf import settings
    from django.db import connection

    django.setup()
    name = str(settings.VAR_DIR / "bench-load.sqlite3") if connection.vendor == "sqlite" else "test_bench_load"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    old = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    return connection, old


def _database_url(connection) -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def _members(project) -> list[str]:
    """50 members of the project; returns a session cookie value for each."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.utils.module_loading import import_string

    from tickets.models import Membership

    SessionStore = import_string(settings.SESSION_ENGINE + ".SessionStore")

    User = get_user_model()
    cookies = []
    for role, count in ROLES:
        for i in range(count):
            user = User.objects.create_user(username=f"load-{role}-{i}", password=None)
            Membership.objects.create(project=project, user=user, role=role)
            session = SessionStore()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
            cookies.append(session.session_key)
    # Interleave the roles, so 10 users are a mix too.
    return [cookies[i] for i in sorted(range(len(cookies)), key=lambda i: (i * 7) % len(cookies))]


def _pages(project) -> list[tuple[str, str]]:
    from experiments.models import Benchmark, Evaluation, EvaluationStatus

    key = project.key
    ticket = project.tickets.order_by("-number").first()
    benchmark = Benchmark.objects.filter(project=project).first()
    evaluation = Evaluation.objects.filter(benchmark=benchmark, status=EvaluationStatus.SUCCEEDED).first()
    return [
        ("overview", f"/p/{key}/"),
        ("backlog", f"/p/{key}/backlog/"),
        ("board", f"/p/{key}/board/"),
        ("runs", f"/p/{key}/runs/"),
        ("ticket", f"/t/{ticket.key}/"),
        ("dashboard", f"/p/{key}/dashboard/"),
        ("benchmark", f"/p/{key}/benchmarks/{benchmark.pk}/"),
        ("evaluation", f"/p/{key}/evaluations/{evaluation.pk}/"),
        ("demo", f"/p/{key}/demo/"),
    ]


class _User(threading.Thread):
    def __init__(self, port: int, cookie: str, pages, offset: int, stop: threading.Event, record) -> None:
        super().__init__(daemon=True)
        self.port, self.cookie, self.pages, self.offset, self.stop, self.record = (
            port,
            cookie,
            pages,
            offset,
            stop,
            record,
        )

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": f"sessionid={self.cookie}", "Accept-Encoding": "gzip", "Host": "localhost"}
        i = self.offset
        while not self.stop.is_set():
            label, url = self.pages[i % len(self.pages)]
            i += 1
            started = time.perf_counter()
            try:
                connection.request("GET", url, headers=headers)
                response = connection.getresponse()
                body = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                body, status = b"", 0
            self.record(label, time.perf_counter() - started, status, len(body))
        connection.close()


class _Writer(threading.Thread):
    """A lead renaming a ticket ``per_second`` times a second, through the service."""

    def __init__(self, project, per_second: float, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.project, self.interval, self.stop, self.count = project, 1.0 / per_second, stop, 0

    def run(self) -> None:
        from django.db import connection

        from tickets import services
        from tickets.models import Membership, Role

        lead = Membership.objects.filter(project=self.project, role=Role.LEAD).first().user
        ticket = self.project.tickets.order_by("number").first()
        title = ticket.title
        try:
            while not self.stop.wait(self.interval):
                self.count += 1
                services.ticket_update(ticket=ticket, actor=lead, title=f"{title} ({self.count})")
        finally:
            connection.close()


def _phase(port: int, cookies: list[str], pages, users: int, project=None, writes: float = 0) -> None:
    results: dict[str, list[float]] = defaultdict(list)
    sizes: dict[str, int] = {}
    errors: list[tuple[str, int]] = []
    lock = threading.Lock()
    measuring = threading.Event()

    def record(label, seconds, status, size):
        with lock:
            if status != 200:
                errors.append((label, status))
            elif measuring.is_set():
                results[label].append(seconds)
                sizes[label] = size

    stop = threading.Event()
    threads = [_User(port, cookies[n], pages, n, stop, record) for n in range(users)]
    if writes:
        threads.append(_Writer(project, writes, stop))
    # Members arrive over a second or so, not in one burst: a burst of connections is taken whole by
    # whichever web process wakes first (uvicorn accepts all that wait), which leaves the other idle.
    for thread in threads:
        thread.start()
        time.sleep(0.02)
    time.sleep(min(5.0, SECONDS / 4))  # warm up: connections, templates, caches
    measuring.set()
    started = time.perf_counter()
    time.sleep(SECONDS)
    measuring.clear()
    elapsed = time.perf_counter() - started
    stop.set()
    for thread in threads:
        thread.join(timeout=90)
    total = sum(len(v) for v in results.values())
    changes = f", a ticket changed {writes:g} times/s" if writes else ""
    print(f"\n  {users} users{changes}, {elapsed:.0f} s: {total / elapsed:.1f} requests/s, {len(errors)} errors")
    print(f"  {'page':12} {'requests':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'bytes (gzip)':>13}")
    for label, _ in pages:
        times = sorted(results[label])
        if not times:
            print(f"  {label:12} no answers")
            continue
        p95, p99 = (times[min(len(times) - 1, int(q * len(times)))] for q in (0.95, 0.99))
        print(
            f"  {label:12} {len(times):>9} {statistics.median(times) * 1000:>8.0f} {p95 * 1000:>8.0f} "
            f"{p99 * 1000:>8.0f} {sizes[label]:>13,}"
        )
    if errors:
        print(f"  errors (page, status): {sorted(set(errors))[:10]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench load")
    parser.add_argument("--writes", type=float, default=0, help="ticket changes per second during each phase")
    parser.add_argument("--users", default=",".join(map(str, USERS)), help="concurrent users per phase")
    args = parser.parse_args(argv or [])
    from bench.bench_dashboards import _build
    from tests.agileml.slow_clients import ASYNC_SERVER, WebServer

    connection, old = _setup_database()
    var = Path(tempfile.mkdtemp(prefix="bench-load-"))
    server = None
    try:
        started = time.perf_counter()
        project = _build("LOAD", SCALE)[0]
        cookies = _members(project)
        pages = _pages(project)
        print(
            f"database: {connection.vendor} ({connection.settings_dict['NAME']}); built {project.tickets.count():,} "
            f"tickets, {project.runs.count():,} runs and 50 members in {time.perf_counter() - started:.1f}s"
        )
        server = WebServer(var, ASYNC_SERVER, DATABASE_URL=_database_url(connection), LOG_LEVEL="WARNING")
        # The same key as this process: the sessions it wrote must verify in the server.
        server.env.update(STATIC_ROOT=str(var / "static"), SECRET_KEY=os.environ["SECRET_KEY"])
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=Path(__file__).resolve().parent.parent,
            env=server.env,
            check=True,
        )
        server.start()
        print(f"web server: gunicorn, 2 uvicorn workers, on {os.cpu_count()} CPUs (the load runs on the same machine)")
        for users in (int(n) for n in args.users.split(",")):
            _phase(server.port, cookies, pages, users, project, args.writes)
    finally:
        if server is not None:
            server.stop()
            log = (var / "web.log").read_text(errors="replace") if (var / "web.log").exists() else ""
            if "Traceback" in log:
                print("  web server log (first error):\n" + log[log.index("Traceback") :][:3000])
        shutil.rmtree(var, ignore_errors=True)
        connection.close()
        connection.creation.destroy_test_db(old, verbosity=0)
