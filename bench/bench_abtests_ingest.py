"""Online tests: event ingestion through the API with workers aggregating, and assignment latency.

    python -m bench abtests_ingest

1. Starts AgileML under threaded gunicorn (2 workers x 4 threads) and one Celery worker, on
   BENCH_DATABASE_URL (default SQLite under var/bench-abtests/) and the configured broker.
2. Sends BENCH_ABTESTS_EVENTS events (default 1,000,000) in batches of 10,000 (CSV) from
   BENCH_ABTESTS_SENDERS (4) concurrent clients to POST /api/v1/abtests/{id}/events/; prints events/s
   and the freshness lag: for each batch, the time from its response until the test's statistics
   (GET /api/v1/abtests/{id}/, polled every 0.2 s) include at least as many events as were stored by then.
3. Asks GET /api/v1/abtests/{id}/assign/?unit= from 50 concurrent callers (BENCH_ASSIGN_CALLS in all,
   default 20,000; keep-alive connections) and prints p50 / p99 latency and calls/s.

The clients run on the same machine as the server, so on a small machine they take CPU from it.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench-abtests"
PYTHON = sys.executable
EVENTS = int(os.environ.get("BENCH_ABTESTS_EVENTS", "1000000"))
BATCH = 10_000
SENDERS = int(os.environ.get("BENCH_ABTESTS_SENDERS", "4"))
ASSIGN_CALLS = int(os.environ.get("BENCH_ASSIGN_CALLS", "20000"))
CALLERS = 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AGILEML_VAR_DIR": str(WORK),
            "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
            "DJANGO_SETTINGS_MODULE": "agileml.settings",
            "LOG_LEVEL": "WARNING",
            "REQUEST_MAX_BYTES": str(32 * 1024 * 1024),
        }
    )
    env.pop("DEBUG", None)
    if os.environ.get("BENCH_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    else:
        env.pop("DATABASE_URL", None)
    return env


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process we started, with the process group it made."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def setup() -> None:
    """(In a subprocess with the bench environment.) A project, a benchmark, two runs, a running test."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from experiments.abtests import services
    from experiments.abtests.models import OnlineTest
    from experiments.benchmarks import services as benchmark_services
    from experiments.tracking import services as run_services
    from tickets.models import Membership, Project, Role

    user, _ = get_user_model().objects.get_or_create(username="bench-service")
    project, _ = Project.objects.get_or_create(key="BENCHAB", defaults={"name": "Online test bench"})
    Membership.objects.get_or_create(project=project, user=user, defaults={"role": Role.LEAD})
    OnlineTest.objects.filter(benchmark__project=project).delete()
    benchmark = project.benchmarks.filter(name="online").first() or benchmark_services.benchmark_create(
        project=project, user=user, name="online", task="binary"
    )
    runs = [run_services.run_create(project=project, user=user, name=name) for name in ("champion", "challenger")]
    test = services.onlinetest_create(
        benchmark=benchmark,
        user=user,
        name="bench",
        arms=[{"variant": "champion", "run": runs[0].pk}, {"variant": "challenger", "run": runs[1].pk}],
        primary={"name": "authenticated", "kind": "binary", "min_effect": 0.01},
        guardrails=[{"name": "latency_ms", "kind": "continuous", "higher_is_better": False, "margin": 5.0}],
    )
    services.onlinetest_start(test=test, user=user)
    token, _ = Token.objects.get_or_create(user=user)
    print(json.dumps({"token": token.key, "test": test.pk, "salt": test.salt}))


def _bodies(salt: str) -> list[bytes]:
    import numpy as np

    from experiments.evaluation.online import Assigner

    assigner = Assigner(salt, [("champion", 1), ("challenger", 1)])
    rng = np.random.default_rng(7)
    bodies = []
    for start in range(0, EVENTS, BATCH):
        n = min(BATCH, EVENTS - start)
        ok = rng.random(n)
        latency = rng.normal(100, 10, n)
        lines = ["event_id,unit,variant,outcome,latency_ms,timestamp"]
        for k in range(n):
            unit = f"u{start + k}"
            variant = assigner.assign(unit)
            rate = 0.81 if variant == "challenger" else 0.80
            lines.append(f"e{start + k},{unit},{variant},{int(ok[k] < rate)},{latency[k]:.2f},{1767600000 + start + k}")
        bodies.append(("\n".join(lines) + "\n").encode())
    return bodies


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.port, self.headers = port, {"Authorization": f"Token {token}"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str = "") -> tuple[int, bytes]:
        headers = dict(self.headers)
        if content_type:
            headers["Content-Type"] = content_type
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
                if attempt:
                    raise
        raise AssertionError("unreachable")


def _ingest(port: int, token: str, test_id: int, bodies: list[bytes]) -> dict:
    stored_total = 0
    done: list[tuple[float, int]] = []  # (response time, events stored by then)
    lock = threading.Lock()
    looks: list[tuple[float, int]] = []
    stop = threading.Event()

    def monitor() -> None:
        client = Client(port, token)
        while not stop.is_set():
            status, body = client.request("GET", f"/api/v1/abtests/{test_id}/")
            if status == 200:
                looks.append((time.perf_counter(), json.loads(body)["n_events"]))
            time.sleep(0.2)

    def send(body: bytes) -> None:
        nonlocal stored_total
        client = local.__dict__.setdefault("client", Client(port, token))
        status, answer = client.request("POST", f"/api/v1/abtests/{test_id}/events/", body, "text/csv")
        if status != 200:
            raise RuntimeError(f"batch refused: {status} {answer[:300]!r}")
        with lock:
            stored_total += json.loads(answer)["stored"]
            done.append((time.perf_counter(), stored_total))

    local = threading.local()
    watcher = threading.Thread(target=monitor, daemon=True)
    watcher.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(send, bodies))
    elapsed = time.perf_counter() - started
    deadline = time.perf_counter() + 600
    while (not looks or looks[-1][1] < stored_total) and time.perf_counter() < deadline:
        time.sleep(0.2)
    stop.set()
    watcher.join()
    lags = []
    for at, count in done:
        seen = next((t for t, n in looks if t >= at and n >= count), None)
        if seen is not None:
            lags.append(seen - at)
    return {
        "events": stored_total,
        "seconds": elapsed,
        "events_per_s": stored_total / elapsed,
        "lag_median_s": statistics.median(lags) if lags else None,
        "lag_p95_s": sorted(lags)[int(0.95 * (len(lags) - 1))] if lags else None,
        "lag_max_s": max(lags) if lags else None,
        "lag_last_batch_s": lags[-1] if lags else None,
        "all_aggregated": bool(looks) and looks[-1][1] == stored_total,
    }


def _assign(port: int, token: str, test_id: int) -> dict:
    per_caller = max(1, ASSIGN_CALLS // CALLERS)
    latencies: list[float] = []
    lock = threading.Lock()

    def caller(k: int) -> None:
        client = Client(port, token)
        mine = []
        for j in range(per_caller):
            at = time.perf_counter()
            status, _ = client.request("GET", f"/api/v1/abtests/{test_id}/assign/?unit=c{k}-{j}")
            mine.append(time.perf_counter() - at)
            if status != 200:
                raise RuntimeError(f"assign answered {status}")
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    with ThreadPoolExecutor(CALLERS) as pool:
        list(pool.map(caller, range(CALLERS)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "calls": len(latencies),
        "calls_per_s": len(latencies) / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
    }


def main() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    env = _env()
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    made = subprocess.run(
        [PYTHON, "-m", "bench.bench_abtests_ingest", "setup"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    info = json.loads(made.stdout.decode().strip().splitlines()[-1])
    print(f"  preparing {EVENTS:,} events in batches of {BATCH:,}...", flush=True)
    bodies = _bodies(info["salt"])
    port = _free_port()
    gunicorn = [str(Path(PYTHON).parent / "gunicorn"), "agileml.wsgi", "--bind", f"127.0.0.1:{port}"]
    gunicorn += ["--workers", "2", "--threads", "4", "--timeout", "300", "--keep-alive", "30"]
    worker = [PYTHON, "-m", "celery", "-A", "agileml", "worker", "--pool=solo", "--loglevel=WARNING"]
    processes = []
    try:
        for name, cmd in (("gunicorn", gunicorn), ("worker", worker)):
            log = (WORK / f"{name}.log").open("wb")
            processes.append(
                subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            )
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the web server did not start") from None
                time.sleep(0.3)
        ingest = _ingest(port, info["token"], info["test"], bodies)
        print(
            f"  ingestion: {ingest['events']:,} events in {ingest['seconds']:.1f}s = {ingest['events_per_s']:,.0f} "
            f"events/s ({SENDERS} senders, batches of {BATCH:,})",
            flush=True,
        )
        print(
            f"  freshness lag (batch answered → statistics include it): median {ingest['lag_median_s']:.2f}s, "
            f"p95 {ingest['lag_p95_s']:.2f}s, max {ingest['lag_max_s']:.2f}s, last batch "
            f"{ingest['lag_last_batch_s']:.2f}s; all aggregated: {ingest['all_aggregated']}",
            flush=True,
        )
        assign = _assign(port, info["token"], info["test"])
        print(
            f"  assignment, {CALLERS} concurrent callers: {assign['calls']:,} calls, {assign['calls_per_s']:,.0f}/s, "
            f"p50 {assign['p50_ms']:.1f} ms, p99 {assign['p99_ms']:.1f} ms",
            flush=True,
        )
        print(json.dumps({"ingest": ingest, "assign": assign}))
    finally:
        for proc in processes:
            _stop(proc)


if __name__ == "__main__" and sys.argv[1:] == ["setup"]:
    setup()
