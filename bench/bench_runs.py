"""Run tracking speed: the real MLflow client against AgileML and against a real MLflow server.

    python -m bench runs          (or `make bench`)

1. Starts AgileML under gunicorn as `make run` does (2 workers x 4 threads, SQLite under
   var/bench-runs/), and a real `mlflow server` (SQLite backend, installed by this script
   into var/bench-mlflow-venv with pip, never into the project's virtualenv).
2. Runs the same client script against each, one after the other, in alternating rounds
   (so load from other processes on a shared machine hits both alike): in total
   (a) 1,000 sequential `log_metric` calls, (b) 100 `log_batch` calls of 1,000 metrics;
   prints throughputs and the AgileML / MLflow ratios (goal: at least 3x on both).
3. Fills AgileML with 10,000 runs x 20 metrics and times the runs list page (median
   server time, goal <= 200 ms) and counts its queries.

Environment: BENCH_LOG_METRIC_CALLS (1000), BENCH_BATCHES (100), BENCH_ROUNDS (5),
BENCH_LIST_RUNS (10000), BENCH_SKIP_MLFLOW=1 to measure AgileML alone, BENCH_DATABASE_URL
to run AgileML on PostgreSQL instead of SQLite.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
AGILEML_DIR = VAR / "bench-runs"
MLFLOW_DIR = VAR / "bench-mlflow"
MLFLOW_VENV = VAR / "bench-mlflow-venv"
PYTHON = sys.executable
TOKEN_FILE = AGILEML_DIR / "token"

LOG_METRIC_CALLS = int(os.environ.get("BENCH_LOG_METRIC_CALLS", "1000"))
BATCHES = int(os.environ.get("BENCH_BATCHES", "100"))
LIST_RUNS = int(os.environ.get("BENCH_LIST_RUNS", "10000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
LIST_METRICS = 20

# The script both servers get, run by the project's own MLflow client.
CLIENT_SCRIPT = r"""
import json, os, sys, time
import mlflow
from mlflow.entities import Metric

calls, batches = int(sys.argv[1]), int(sys.argv[2])
mlflow.set_experiment("AUTH")
client = mlflow.MlflowClient()
with mlflow.start_run(run_name="bench") as run:
    run_id = run.info.run_id
    for i in range(20):  # warm up connections and server caches
        mlflow.log_metric("warmup", i, step=i)
    started = time.perf_counter()
    for i in range(calls):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
    single = time.perf_counter() - started
    now = int(time.time() * 1000)
    started = time.perf_counter()
    for b in range(batches):
        client.log_batch(run_id, metrics=[Metric(f"m{j % 20}", float(j), now, b * 1000 + j) for j in range(1000)])
    batch = time.perf_counter() - started
stored_single = len(client.get_metric_history(run_id, "loss"))
stored_batch = len(client.get_metric_history(run_id, "m0"))
print(json.dumps({
    "log_metric_seconds": single, "log_metric_per_s": calls / single, "stored_single": stored_single,
    "log_batch_seconds": batch, "log_batch_per_s": batches / batch, "metrics_per_s": batches * 1000 / batch,
    "stored_m0": stored_batch,
}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except urllib.error.HTTPError:
            return  # the server answers
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def _stop(proc: subprocess.Popen) -> None:
    """Stop a server we started, with the process group it made."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _agileml_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AGILEML_VAR_DIR": str(AGILEML_DIR),
            "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
            "DJANGO_SETTINGS_MODULE": "agileml.settings",
            "LOG_LEVEL": "WARNING",
        }
    )
    env.pop("DEBUG", None)
    if os.environ.get("BENCH_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    else:
        env.pop("DATABASE_URL", None)
    return env


def _client_result(stdout: str) -> dict:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"no result in client output: {stdout[-500:]}")


def _run_client(uri: str, token: str | None) -> dict:
    env = dict(os.environ)
    env["MLFLOW_TRACKING_URI"] = uri
    env.pop("MLFLOW_TRACKING_TOKEN", None)
    if token:
        env["MLFLOW_TRACKING_TOKEN"] = token
    out = subprocess.run(
        [PYTHON, "-c", CLIENT_SCRIPT, str(LOG_METRIC_CALLS // ROUNDS), str(BATCHES // ROUNDS)],
        env=env,
        capture_output=True,
        text=True,
        cwd=VAR,
    )
    if out.returncode:
        raise RuntimeError(f"client failed against {uri}:\n{out.stderr[-3000:]}")
    return _client_result(out.stdout)


# --- Servers ---------------------------------------------------------------------------------
def start_agileml() -> tuple[subprocess.Popen, str, str]:
    """AgileML under threaded gunicorn (2 workers x 4 threads; `make run` now serves with uvicorn workers)."""
    shutil.rmtree(AGILEML_DIR, ignore_errors=True)
    AGILEML_DIR.mkdir(parents=True)
    env = _agileml_env()
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([PYTHON, "-m", "bench.bench_runs", "setup"], cwd=ROOT, env=env, check=True)
    port = _free_port()
    cmd = [
        str(Path(PYTHON).parent / "gunicorn"),
        "agileml.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--threads",
        "4",
        "--timeout",
        "120",
    ]
    log = (AGILEML_DIR / "gunicorn.log").open("wb")
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    _wait_http(f"http://127.0.0.1:{port}/mlflow/")
    return server, f"http://127.0.0.1:{port}/mlflow", TOKEN_FILE.read_text().strip()


def _mlflow_server_bin() -> Path:
    binary = MLFLOW_VENV / "bin" / "mlflow"
    version = importlib.metadata.version("mlflow-skinny")
    marker = MLFLOW_VENV / f".installed-{version}"
    if not marker.exists():
        print(f"  installing mlflow=={version} into {MLFLOW_VENV.relative_to(ROOT)} (once)...", flush=True)
        shutil.rmtree(MLFLOW_VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
        with (VAR / "bench-mlflow-install.log").open("wb") as log:
            subprocess.run(
                [str(MLFLOW_VENV / "bin" / "pip"), "install", "--quiet", f"mlflow=={version}"],
                check=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        marker.touch()
    return binary


def start_mlflow() -> tuple[subprocess.Popen, str]:
    """A real MLflow tracking server with its SQLite backend, as many web workers as AgileML."""
    binary = _mlflow_server_bin()
    shutil.rmtree(MLFLOW_DIR, ignore_errors=True)
    MLFLOW_DIR.mkdir(parents=True)
    port = _free_port()
    cmd = [
        str(binary),
        "server",
        "--backend-store-uri",
        f"sqlite:///{MLFLOW_DIR / 'mlflow.db'}",
        "--default-artifact-root",
        str(MLFLOW_DIR / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "2",
    ]
    log = (MLFLOW_DIR / "server.log").open("wb")
    server = subprocess.Popen(cmd, cwd=MLFLOW_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    _wait_http(f"http://127.0.0.1:{port}/health", timeout=180)
    return server, f"http://127.0.0.1:{port}"


def _accumulate(total: dict, result: dict) -> None:
    for key in ("log_metric_seconds", "log_batch_seconds", "stored_single", "stored_m0"):
        total[key] = total.get(key, 0) + result[key]


def _finish(total: dict) -> dict:
    total["log_metric_per_s"] = LOG_METRIC_CALLS / total["log_metric_seconds"]
    total["log_batch_per_s"] = BATCHES / total["log_batch_seconds"]
    total["metrics_per_s"] = BATCHES * 1000 / total["log_batch_seconds"]
    return total


def bench_logging(with_mlflow: bool) -> tuple[dict, dict | None]:
    """The client script against each server, alternating in rounds.

    Both servers are up for the whole measurement and the client switches between them
    round by round (order flipped each round), so load from other processes on a shared
    machine falls on both alike instead of on whichever happened to run second.
    """
    servers = []
    try:
        ours_server, ours_uri, token = start_agileml()
        servers.append(ours_server)
        targets = [("agileml", ours_uri, token)]
        if with_mlflow:
            theirs_server, theirs_uri = start_mlflow()
            servers.append(theirs_server)
            targets.append(("mlflow", theirs_uri, None))
        totals: dict[str, dict] = {name: {} for name, _, _ in targets}
        for round_number in range(ROUNDS):
            order = targets if round_number % 2 == 0 else targets[::-1]
            for name, uri, key in order:
                _accumulate(totals[name], _run_client(uri, key))
        return _finish(totals["agileml"]), _finish(totals["mlflow"]) if with_mlflow else None
    finally:
        for server in servers:
            _stop(server)


# --- The runs list with 10,000 runs x 20 metrics ---------------------------------------------
def bench_run_list() -> dict:
    env = _agileml_env()
    out = subprocess.run([PYTHON, "-m", "bench.bench_runs", "list"], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return _client_result(out.stdout)


def _setup() -> None:
    """In the bench database: project AUTH, an engineer and their API token."""
    import django

    django.setup()
    from rest_framework.authtoken.models import Token

    from tickets.demo import seed_people

    people = seed_people()
    TOKEN_FILE.write_text(Token.objects.get_or_create(user=people.engineer)[0].key)


def _list() -> None:
    """Fill the project with runs and time the list page in-process (server time, no network)."""
    import django

    django.setup()
    import datetime as dt
    import random

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from experiments.models import LatestMetric, Param, Run
    from tickets.demo import seed_people
    from tickets.models import Ticket, WorkType

    people = seed_people()
    project = people.project
    existing = Run.objects.filter(project=project).count()
    rng = random.Random(0)
    if existing < LIST_RUNS:
        tickets = []
        for number in range(1, 21):
            ticket, _ = Ticket.objects.get_or_create(
                project=project,
                number=number,
                defaults={
                    "work_type": WorkType.ALGORITHM_DEVELOPMENT,
                    "title": f"Bench ticket {number}",
                    "rank": number,
                },
            )
            tickets.append(ticket)
        now = timezone.now()
        runs = [
            Run(
                project=project,
                name=f"bench-{i}",
                status="finished",
                started_by=people.engineer,
                ticket=tickets[i % 20] if i % 3 else None,
                start_time=now - dt.timedelta(minutes=i),
                end_time=now - dt.timedelta(minutes=i) + dt.timedelta(seconds=30),
            )
            for i in range(existing, LIST_RUNS)
        ]
        created = Run.objects.bulk_create(runs, batch_size=2000)
        latest = [
            LatestMetric(
                run=run,
                project=project,
                key=f"metric_{k:02d}",
                value=rng.random(),
                step=99,
                timestamp=1_700_000_000_000,
            )
            for run in created
            for k in range(LIST_METRICS)
        ]
        LatestMetric.objects.bulk_create(latest, batch_size=5000)
        Param.objects.bulk_create(
            [Param(run=run, project=project, key="lr", value=str(rng.choice([0.1, 0.01, 0.001]))) for run in created],
            batch_size=5000,
        )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(people.engineer)
    results = {}
    pages = {
        "default (newest first, 3 metric columns)": "/p/AUTH/runs/",
        "sorted by a metric, 5 metric + 1 param columns": "/p/AUTH/runs/?columns=1&m=metric_00&m=metric_05&m=metric_10"
        "&m=metric_15&m=metric_19&p=lr&sort=-metric:metric_07",
        "filtered by ticket, sorted by a metric": "/p/AUTH/runs/?ticket=AUTH-7&sort=metric:metric_03",
    }
    for label, url in pages.items():
        client.get(url)  # warm up
        timings = []
        for _ in range(15):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        results[label] = {"median_ms": statistics.median(timings), "queries": len(queries)}
    # One run with a 100,000-point history: its page draws a min/max-preserving sample.
    from experiments.tracking import services

    long_run = Run.objects.filter(project=project, name="bench-long-history").first()
    if long_run is None:
        long_run = services.run_create(project=project, user=people.engineer, name="bench-long-history")
        for b in range(100):
            services.run_log(
                run=long_run,
                metrics=[
                    services.MetricPoint("loss", rng.gauss(1 / (1 + (b * 1000 + j) / 5000), 0.02), 1, b * 1000 + j)
                    for j in range(1000)
                ],
            )
    url = f"/p/AUTH/runs/{long_run.pk}/"
    client.get(url)
    timings = []
    for _ in range(7):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    results["run page with a 100,000-point history"] = {"median_ms": statistics.median(timings), "queries": None}
    print(json.dumps({"runs": Run.objects.filter(project=project).count(), "pages": results}))


def _report(result: dict) -> None:
    print(
        f"    log_metric: {result['log_metric_per_s']:.0f} calls/s   "
        f"log_batch: {result['log_batch_per_s']:.1f} batches/s ({result['metrics_per_s']:.0f} metrics/s); "
        f"points stored {result['stored_single']} + {result['stored_m0'] * 20}",
        flush=True,
    )


def main() -> None:
    with_mlflow = os.environ.get("BENCH_SKIP_MLFLOW") != "1"
    database = "BENCH_DATABASE_URL" if os.environ.get("BENCH_DATABASE_URL") else "SQLite"
    print(
        f"  {LOG_METRIC_CALLS} log_metric calls and {BATCHES} log_batch calls of 1,000 metrics per server, "
        f"in {ROUNDS} alternating rounds",
        flush=True,
    )
    ours, theirs = bench_logging(with_mlflow)
    print(f"  AgileML (gunicorn, 2 workers x 4 threads, {database}):", flush=True)
    _report(ours)
    if theirs is not None:
        print("  MLflow server (SQLite backend, 2 workers):", flush=True)
        _report(theirs)
        a = ours["log_metric_per_s"] / theirs["log_metric_per_s"]
        b = ours["log_batch_per_s"] / theirs["log_batch_per_s"]
        print(
            f"  Ratio AgileML / MLflow: (a) log_metric {a:.1f}x   (b) log_batch x 1000 metrics {b:.1f}x   (goal >= 3x)",
            flush=True,
        )
    print(f"  Runs list with {LIST_RUNS:,} runs x {LIST_METRICS} metrics (in-process, median of 15)...", flush=True)
    listing = bench_run_list()
    for label, row in listing["pages"].items():
        queries = f", {row['queries']} queries (goal <= 200 ms)" if row["queries"] is not None else ""
        print(f"    {label}: {row['median_ms']:.0f} ms{queries}", flush=True)


if __name__ == "__main__":
    {"setup": _setup, "list": _list}[sys.argv[1]]()
