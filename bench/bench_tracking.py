"""MLflow tracking at the floor: `python -m bench tracking`.

The stock MLflow client against AgileML and against a local `mlflow server` (SQLite backend, installed
into var/bench-mlflow-venv as `bench runs` does), both up for the whole measurement, in alternating
rounds so load from other processes falls on both alike:

1. one client: `log_metric` calls/s (sequential, one point each) and `log_batch` calls/s (1,000 points);
2. a tracking load: CLIENTS client processes logging at once for SECONDS, total `log_metric` calls/s;
3. with `--page-load N`: (1) again while N signed-in members cycle through project pages of AgileML.

AgileML runs as `make run` runs it (gunicorn with uvicorn workers, 2 processes); `--servers` adds other
web server models on the same database, to compare them: `threads` (now: WEB_THREADS=2 threads per
process), `asgi` (before: Django's ASGI handler, a thread and a database connection per request,
WEB_THREADS=0), `gthread` (gunicorn's threaded WSGI worker, 2 x 4, no protection from slow clients).
Each server's CPU time per call is measured from /proc, which a busy machine distorts less than
throughput. Prints `uptime` before and after: the figures are only comparable on a quiet machine.

    python -m bench tracking [--calls 500] [--batches 20] [--clients 8] [--seconds 10] [--rounds 2]
                             [--servers threads,asgi,gthread] [--page-load 50] [--no-mlflow]

BENCH_DATABASE_URL runs AgileML on PostgreSQL (a database the benchmark may empty) instead of SQLite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.bench_runs import PYTHON, ROOT, VAR, _client_result, _free_port, _stop, _wait_http, start_mlflow

HERE = VAR / "bench-tracking"
SETUP_FILE = HERE / "setup.json"
BIN = Path(PYTHON).parent
USERS = 50

SERVERS = {
    "threads": (["agileml.asgi:application", "-c", "python:agileml.gunicorn_conf", "--workers", "2"], {}),
    "asgi": (
        ["agileml.asgi:application", "-c", "python:agileml.gunicorn_conf", "--workers", "2"],
        {"WEB_THREADS": "0"},
    ),
    "gthread": (
        ["agileml.wsgi", "--workers", "2", "--threads", "4", "--timeout", "120"],
        {"DATABASE_CONN_MAX_AGE": "60"},
    ),
}
LABELS = {
    "threads": "uvicorn workers, 2 x 2 threads (now)",
    "asgi": "uvicorn workers, a thread per request (before)",
    "gthread": "gunicorn gthread WSGI, 2 x 4",
}

# Run by the project's own MLflow client: one run, then log_metric and log_batch; or, with "load",
# log_metric for a fixed time (one of several clients at once).
CLIENT_SCRIPT = r"""
import json, sys, time
import mlflow
from mlflow.entities import Metric

mode, amount, batches = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
mlflow.set_experiment("AUTH")
client = mlflow.MlflowClient()
with mlflow.start_run(run_name="bench-tracking") as run:
    run_id = run.info.run_id
    for i in range(20):  # warm up the connection and the server's remembered access
        mlflow.log_metric("warmup", i, step=i)
    if mode == "load":
        if len(sys.argv) > 4:  # start together
            while time.time() < float(sys.argv[4]):
                time.sleep(0.01)
        calls, started = 0, time.perf_counter()
        while time.perf_counter() - started < amount:
            mlflow.log_metric("loss", 1.0 / (calls + 1), step=calls)
            calls += 1
        print(json.dumps({"calls": calls, "seconds": time.perf_counter() - started}))
        sys.exit(0)
    calls = int(amount)
    started = time.perf_counter()
    for i in range(calls):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
    single = time.perf_counter() - started
    now = int(time.time() * 1000)
    started = time.perf_counter()
    for b in range(batches):
        client.log_batch(run_id, metrics=[Metric(f"m{j % 20}", float(j), now, b * 1000 + j) for j in range(1000)])
    batch = time.perf_counter() - started
stored = len(client.get_metric_history(run_id, "loss"))
print(json.dumps({"log_metric_seconds": single, "calls": calls, "stored": stored,
                  "log_batch_seconds": batch, "batches": batches}))
"""


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        AGILEML_VAR_DIR=str(HERE),
        SECRET_KEY="bench-only-secret-key-not-for-production-0123456789",
        DJANGO_SETTINGS_MODULE="agileml.settings",
        LOG_LEVEL="WARNING",
        STATIC_ROOT=str(HERE / "static"),
    )
    for name in ("DEBUG", "WEB_THREADS", "DATABASE_CONN_MAX_AGE", "DATABASE_URL"):
        env.pop(name, None)
    if os.environ.get("BENCH_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    return env


def _setup() -> None:
    """In the bench database: project AUTH, its engineer's API token, and 50 signed-in members."""
    import django

    django.setup()
    from rest_framework.authtoken.models import Token

    from bench.bench_load import _members
    from tickets.demo import seed_people

    people = seed_people()
    key = people.project.key
    pages = [f"/p/{key}/", f"/p/{key}/backlog/", f"/p/{key}/board/", f"/p/{key}/runs/", f"/p/{key}/dashboard/"]
    SETUP_FILE.write_text(
        json.dumps(
            {
                "token": Token.objects.get_or_create(user=people.engineer)[0].key,
                "cookies": _members(people.project),
                "pages": [[page.split("/")[-2] or "overview", page] for page in pages],
            }
        )
    )


class Server:
    """One AgileML web server model on the bench database, and its processes' CPU time."""

    def __init__(self, name: str) -> None:
        args, extra = SERVERS[name]
        self.name, self.port = name, _free_port()
        env = {**_env(), **extra}
        cmd = [str(BIN / "gunicorn"), *args, "--bind", f"127.0.0.1:{self.port}"]
        log = (HERE / f"web-{name}.log").open("wb")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        _wait_http(f"http://127.0.0.1:{self.port}/mlflow/")
        self.uri = f"http://127.0.0.1:{self.port}/mlflow"

    def cpu_seconds(self) -> float:
        return _group_cpu(self.proc.pid)


def _group_cpu(pid: int) -> float:
    """CPU seconds used so far by process ``pid`` and its children (web workers)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _client(uri: str, token: str | None, *args: str) -> subprocess.Popen:
    env = dict(os.environ)
    env["MLFLOW_TRACKING_URI"] = uri
    # The client's telemetry thread edits os.environ while requests reads it (a KeyError, now and then).
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env.pop("MLFLOW_TRACKING_TOKEN", None)
    if token:
        env["MLFLOW_TRACKING_TOKEN"] = token
    return subprocess.Popen(
        [PYTHON, "-c", CLIENT_SCRIPT, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=VAR,
    )


def _finish(proc: subprocess.Popen, uri: str) -> dict:
    out, err = proc.communicate(timeout=900)
    if proc.returncode:
        raise RuntimeError(f"client failed against {uri}:\n{err[-3000:]}")
    return _client_result(out)


def single_client(target: tuple, calls: int, batches: int) -> dict:
    _name, uri, token, server = target
    cpu = server.cpu_seconds() if server else None
    result = _finish(_client(uri, token, "single", str(calls), str(batches)), uri)
    if server:
        # Includes run creation, warm-up and the batches: an upper bound per log_metric call.
        result["server_cpu_s"] = server.cpu_seconds() - cpu
    return result


def tracking_load(target: tuple, clients: int, seconds: float) -> dict:
    _name, uri, token, _server = target
    start_at = time.time() + 8  # every client imported mlflow and started its run by then
    procs = [_client(uri, token, "load", str(seconds), "0", str(start_at)) for _ in range(clients)]
    results = [_finish(p, uri) for p in procs]
    calls = sum(r["calls"] for r in results)
    return {"calls": calls, "per_s": calls / max(r["seconds"] for r in results)}


class PageLoad:
    """``users`` signed-in members cycling through project pages (bench_load's users), in threads."""

    def __init__(self, port: int, users: int) -> None:
        from bench.bench_load import _User

        setup = json.loads(SETUP_FILE.read_text())
        self.times: list[float] = []
        self.errors = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        pages = [tuple(p) for p in setup["pages"]]
        self.threads = [
            _User(port, setup["cookies"][n % len(setup["cookies"])], pages, n, self._stop, self._record)
            for n in range(users)
        ]

    def _record(self, label, seconds, status, size) -> None:
        with self._lock:
            if status != 200:
                self.errors += 1
            else:
                self.times.append(seconds)

    def __enter__(self) -> PageLoad:
        for thread in self.threads:
            thread.start()
        time.sleep(3)
        with self._lock:
            self.times.clear()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.elapsed = time.perf_counter() - self.started
        self._stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def summary(self) -> str:
        times = sorted(self.times)
        if not times:
            return "no pages answered"
        p50, p95 = times[len(times) // 2], times[min(len(times) - 1, int(0.95 * len(times)))]
        return (
            f"{len(times) / self.elapsed:.1f} pages/s, p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
            f"{self.errors} errors"
        )


def _rate(total: dict, key: str, count: str) -> float:
    return total[count] / total[key] if total.get(key) else 0.0


def _single_rounds(targets: list[tuple], rounds: int, calls: int, batches: int) -> dict[str, dict]:
    totals: dict[str, dict] = {t[0]: {} for t in targets}
    for number in range(rounds):
        for target in targets if number % 2 == 0 else targets[::-1]:
            result = single_client(target, calls, batches)
            total = totals[target[0]]
            for key in ("log_metric_seconds", "calls", "log_batch_seconds", "batches", "stored", "server_cpu_s"):
                if key in result:
                    total[key] = total.get(key, 0) + result[key]
    return totals


def _print_single(totals: dict[str, dict]) -> None:
    reference = totals.get("mlflow")
    for name, total in totals.items():
        metric = _rate(total, "log_metric_seconds", "calls")
        line = f"    {name:8} log_metric {metric:7.0f} calls/s"
        if reference and name != "mlflow":
            line += f" ({metric / _rate(reference, 'log_metric_seconds', 'calls'):.1f}x mlflow server)"
        if total.get("batches"):
            batch = _rate(total, "log_batch_seconds", "batches")
            line += f"   log_batch x 1000 {batch:6.1f} calls/s"
            if reference and name != "mlflow":
                line += f" ({batch / _rate(reference, 'log_batch_seconds', 'batches'):.1f}x)"
        if "server_cpu_s" in total:
            line += (
                f"   server CPU {total['server_cpu_s'] * 1000 / (total['calls'] + 20 * total['batches']):.2f} ms/call*"
            )
        print(line, flush=True)
        assert total["stored"] == total["calls"], f"{name} stored {total['stored']} of {total['calls']} points"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench tracking")
    parser.add_argument("--calls", type=int, default=500, help="log_metric calls per round and server")
    parser.add_argument("--batches", type=int, default=20, help="log_batch calls (1,000 points) per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8, help="clients at once in the tracking load")
    parser.add_argument("--seconds", type=float, default=10, help="length of the tracking load")
    parser.add_argument("--servers", default="threads", help="AgileML server models: threads,asgi,gthread")
    parser.add_argument("--page-load", type=int, default=0, help="members loading pages during a 3rd phase")
    parser.add_argument("--no-mlflow", action="store_true", help="measure AgileML alone")
    args = parser.parse_args(argv or [])
    # Stopped from outside (timeout, Ctrl-C): still stop the servers, which run in sessions of their own.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"  machine: {os.cpu_count()} CPUs; {_uptime()}", flush=True)

    shutil.rmtree(HERE, ignore_errors=True)
    HERE.mkdir(parents=True)
    env = _env()
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([PYTHON, "-m", "bench.bench_tracking", "setup"], cwd=ROOT, env=env, check=True)
    token = json.loads(SETUP_FILE.read_text())["token"]

    started: list[subprocess.Popen] = []
    try:
        targets = []
        for name in args.servers.split(","):
            server = Server(name)
            started.append(server.proc)
            targets.append((name, server.uri, token, server))
        if not args.no_mlflow:
            mlflow_server, mlflow_uri = start_mlflow()
            started.append(mlflow_server)
            targets.append(("mlflow", mlflow_uri, None, None))
        database = "PostgreSQL" if os.environ.get("BENCH_DATABASE_URL") else "SQLite"
        for name, *_ in targets:
            print(f"  {name:8} {LABELS.get(name, 'mlflow server, SQLite backend, 2 workers')}", flush=True)
        print(f"  AgileML database: {database}", flush=True)

        print(
            f"\n  1. One client: {args.calls} log_metric + {args.batches} log_batch calls per round, "
            f"{args.rounds} alternating rounds",
            flush=True,
        )
        _print_single(_single_rounds(targets, args.rounds, args.calls, args.batches))
        print("     * server CPU per call counts a log_batch call as 20 log_metric calls", flush=True)

        print(
            f"\n  2. Tracking load: {args.clients} clients logging log_metric at once for {args.seconds:.0f} s",
            flush=True,
        )
        loads = {name: tracking_load(t, args.clients, args.seconds) for t in targets for name in [t[0]]}
        for name, load in loads.items():
            ratio = f"   ({load['per_s'] / loads['mlflow']['per_s']:.1f}x mlflow server)" if "mlflow" in loads else ""
            print(f"    {name:8} {load['per_s']:7.0f} calls/s in all ({load['calls']} calls){ratio}", flush=True)

        if args.page_load:
            first = targets[0]
            print(
                f"\n  3. One client (as 1.) while {args.page_load} members load pages of AgileML ({first[0]})",
                flush=True,
            )
            with PageLoad(first[3].port, args.page_load) as load:
                _print_single(_single_rounds(targets, args.rounds, args.calls, 0))
            print(f"    page load meanwhile: {load.summary()}", flush=True)
    finally:
        for proc in started:
            _stop(proc)
    print(f"\n  machine after: {_uptime()}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["setup"]:
        _setup()
    else:
        main(sys.argv[1:])
