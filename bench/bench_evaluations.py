"""Evaluation speed: from uploading a 1M-row predictions file to the verdict on the page, through a real worker.

    python -m bench evaluations          (or `make bench`)

1. In var/bench-evaluations/ (its own SQLite database, embedded broker and media), sets up project
   AUTH with a binary benchmark whose dataset has 1,000,000 rows in 2,000 groups (synthetic), and a
   champion whose baseline evaluation ran through the same service the workers run.
2. Starts the web server (gunicorn, 2 workers x 4 threads, as `make run`) and a Celery worker
   (concurrency 2, as supervisord.conf).
3. Times, BENCH_REPEATS times: POST the 1M-row predictions file to /api/v1/runs/<id>/predictions/
   (streamed to disk, validated by the engine, queued), then poll the evaluation page as a browser's
   htmx would (every 100 ms) until it shows the verdict. Goal: <= 15 s.
4. Fills the benchmark with 500 evaluations and times its page in-process (median of 15 requests,
   server time), checking that the query count is the same with 50 and 500 evaluations. Goal: <= 200 ms.

Environment: BENCH_DATABASE_URL and BENCH_BROKER_URL to measure on PostgreSQL / Redis,
BENCH_ROWS (1000000), BENCH_REPEATS (3), BENCH_PAGE_EVALUATIONS (500).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench-evaluations"
PYTHON = sys.executable
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
GROUPS = max(2, ROWS // 500)
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
PAGE_EVALUATIONS = int(os.environ.get("BENCH_PAGE_EVALUATIONS", "500"))
STATE = WORK / "state.json"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AGILEML_VAR_DIR": str(WORK),
            "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
            "DJANGO_SETTINGS_MODULE": "agileml.settings",
            "LOG_LEVEL": "WARNING",
        }
    )
    env.pop("DEBUG", None)
    env.pop("MEDIA_ROOT", None)
    for name, source in (("DATABASE_URL", "BENCH_DATABASE_URL"), ("CELERY_BROKER_URL", "BENCH_BROKER_URL")):
        if os.environ.get(source):
            env[name] = os.environ[source]
        else:
            env.pop(name, None)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process we started, with the process group it made."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_for_worker(base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:  # noqa: S310 - loopback only
                body = json.load(response)
        except urllib.error.HTTPError as exc:  # 503: some part is down (no scheduler runs here)
            body = json.load(exc)
        except OSError:
            body = {}
        if body.get("worker", {}).get("ok"):
            return
        time.sleep(0.5)
    raise RuntimeError(f"no live web server and worker at {base} within {timeout}s")


def _manage(*args: str) -> None:
    subprocess.run([PYTHON, *args], cwd=ROOT, env=_env(), check=True)


# --- In the bench environment (subprocesses) ----------------------------------------------------
def _setup() -> None:
    """Project, benchmark with a 1M-row dataset, champion, one run per repeat, a token, the files."""
    import django

    django.setup()
    from rest_framework.authtoken.models import Token

    from experiments.benchmarks import services
    from experiments.models import PredictionSource
    from experiments.tracking import services as run_services
    from tests.experiments.benchmark_helpers import write_large_binary_case
    from tickets.demo import DEMO_PASSWORD, seed_people

    people = seed_people()
    project = people.project
    case = write_large_binary_case(WORK / "files", n_rows=ROWS, n_groups=GROUPS)
    benchmark = services.benchmark_create(
        project=project, user=people.lead, name="bench", task="binary", guardrails={"eer": 0.01}
    )
    benchmark.project = project
    dataset = services.dataset_upload(benchmark=benchmark, user=people.lead, path=case.truth, original_name="truth.csv")
    champion = run_services.run_create(project=project, user=people.engineer, name="champion")
    prediction_set = services.predictions_upload(
        run=champion,
        dataset=dataset,
        user=people.engineer,
        path=case.champion,
        original_name="champion.csv",
        source=PredictionSource.API,
    )
    evaluation, _ = services.evaluation_request(
        run=champion, dataset=dataset, user=people.engineer, predictions=prediction_set, enqueue=False
    )
    services.evaluation_execute(evaluation_id=evaluation.pk)
    evaluation.refresh_from_db()
    services.champion_promote(benchmark=benchmark, evaluation=evaluation, user=people.lead)
    runs = [
        run_services.run_create(project=project, user=people.engineer, name=f"challenger-{i}").pk
        for i in range(REPEATS)
    ]
    STATE.write_text(
        json.dumps(
            {
                "benchmark": benchmark.pk,
                "runs": runs,
                "token": Token.objects.get_or_create(user=people.engineer)[0].key,
                "password": DEMO_PASSWORD,
                "challenger": str(case.challenger),
            }
        )
    )


def _page() -> None:
    """The benchmark page with many evaluations: server time in-process, and its query count."""
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from experiments.models import Evaluation, EvaluationStatus
    from tests.experiments.benchmark_helpers import clone_evaluations
    from tickets.demo import seed_people

    state = json.loads(STATE.read_text())
    people = seed_people()
    template = (
        Evaluation.objects.filter(benchmark_id=state["benchmark"], status=EvaluationStatus.SUCCEEDED)
        .exclude(verdict="")
        .latest("id")
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(people.engineer)
    url = f"/p/AUTH/benchmarks/{state['benchmark']}/"
    results = {}
    for total in (50, PAGE_EVALUATIONS):
        missing = total - Evaluation.objects.filter(benchmark_id=state["benchmark"]).count()
        if missing > 0:
            clone_evaluations(template, missing)
        client.get(url)  # warm up
        timings = []
        for _ in range(15):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        results[total] = {"median_ms": statistics.median(timings), "max_ms": max(timings), "queries": len(queries)}
    print(json.dumps(results))


# --- The measurement (this process) -------------------------------------------------------------
def _login(session, base: str, password: str) -> None:
    page = session.get(f"{base}/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{base}/login/",
        data={"username": "engineer", "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/login/"},
    )
    response.raise_for_status()


def _upload_to_verdict(base: str, state: dict, run_id: int) -> dict:
    import requests

    browser = requests.Session()
    _login(browser, base, state["password"])
    started = time.perf_counter()
    with open(state["challenger"], "rb") as handle:
        response = requests.post(
            f"{base}/api/v1/runs/{run_id}/predictions/",
            headers={"Authorization": f"Token {state['token']}"},
            files={"file": ("predictions.csv", handle, "text/csv")},
            data={"benchmark": "bench"},
            timeout=300,
        )
    uploaded = time.perf_counter() - started
    if response.status_code != 201:
        raise RuntimeError(f"upload failed: {response.status_code} {response.text[:500]}")
    evaluation = response.json()["evaluation"]["id"]
    polls = 0
    while True:
        page = browser.get(f"{base}/p/AUTH/evaluations/{evaluation}/status/", timeout=30)
        polls += 1
        if 'data-testid="verdict-card"' in page.text:
            break
        if 'data-testid="evaluation-error"' in page.text:
            raise RuntimeError(f"evaluation {evaluation} failed: {page.text[:2000]}")
        if time.perf_counter() - started > 300:
            raise RuntimeError("no verdict within 300 s")
        time.sleep(0.1)
    total = time.perf_counter() - started
    detail = requests.get(
        f"{base}/api/v1/evaluations/{evaluation}/", headers={"Authorization": f"Token {state['token']}"}, timeout=30
    ).json()
    return {
        "total": total,
        "upload": uploaded,
        "verdict": detail["comparison"]["verdict"],
        "polls": polls,
        "summary": detail["summary"],
        "evaluation": evaluation,
    }


def bench_upload_to_verdict() -> list[dict]:
    env = _env()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    web_log = (WORK / "gunicorn.log").open("wb")
    worker_log = (WORK / "worker.log").open("wb")
    bin_dir = Path(PYTHON).parent
    web = subprocess.Popen(
        [
            str(bin_dir / "gunicorn"),
            "agileml.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--timeout",
            "300",
        ],
        cwd=ROOT,
        env=env,
        stdout=web_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = subprocess.Popen(
        [str(bin_dir / "celery"), "-A", "agileml", "worker", "--loglevel=WARNING", "--concurrency=2", "-n", "bench@%h"],
        cwd=ROOT,
        env=env,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for_worker(base)
        state = json.loads(STATE.read_text())
        return [_upload_to_verdict(base, state, run_id) for run_id in state["runs"]]
    finally:
        _stop(web)
        _stop(worker)


def main() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    database = "BENCH_DATABASE_URL" if os.environ.get("BENCH_DATABASE_URL") else "SQLite"
    broker = "BENCH_BROKER_URL" if os.environ.get("BENCH_BROKER_URL") else "embedded broker"
    print(
        f"  Setting up: {ROWS:,}-row dataset in {GROUPS:,} groups, champion evaluated ({database}, {broker})...",
        flush=True,
    )
    _manage("manage.py", "migrate", "--noinput", "-v0")
    _manage("-m", "bench.bench_evaluations", "setup")
    print(
        f"  Upload of a {ROWS:,}-row predictions file to the verdict on the page (gunicorn + Celery worker)...",
        flush=True,
    )
    results = bench_upload_to_verdict()
    for result in results:
        print(
            f"    {result['total']:.1f} s (upload, validation and queueing {result['upload']:.1f} s; "
            f"{result['polls']} page polls): {result['summary']}",
            flush=True,
        )
    totals = [r["total"] for r in results]
    print(f"    median {statistics.median(totals):.1f} s, worst {max(totals):.1f} s (goal <= 15 s)", flush=True)
    print(f"  Benchmark page with 50 and {PAGE_EVALUATIONS} evaluations (in-process, median of 15)...", flush=True)
    out = subprocess.run(
        [PYTHON, "-m", "bench.bench_evaluations", "page"], cwd=ROOT, env=_env(), capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    pages = json.loads(out.stdout.strip().splitlines()[-1])
    for total, row in pages.items():
        print(
            f"    {total} evaluations: median {row['median_ms']:.0f} ms (max {row['max_ms']:.0f} ms), "
            f"{row['queries']} queries (goal <= 200 ms, constant queries)",
            flush=True,
        )


if __name__ == "__main__":
    {"setup": _setup, "page": _page}[sys.argv[1]]()
