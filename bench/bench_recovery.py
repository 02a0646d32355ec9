"""Recovery under `make run`'s supervisor: a worker killed mid-evaluation, and time to healthy.

`python -m bench recovery`. In a fresh ``var/bench/recovery/`` (SQLite, embedded broker):

1. time to healthy: the steps `make run` takes after installing (migrate, clear_upload_tmp,
   seed_demo, supervisord) until ``/healthz`` answers 200;
2. a binary benchmark with a RECOVERY_ROWS-row dataset and a champion; then RECOVERY_REPEATS times:
   upload a challenger's predictions through the API, wait until its evaluation is running, SIGKILL
   the Celery worker's main process (supervisord starts a new one) and time from the kill until the
   evaluation has succeeded. Prints each time and the median, and how many evaluations exist for the
   upload (exactly one is right).

Environment: RECOVERY_ROWS (300000), RECOVERY_REPEATS (3).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench" / "recovery"
ROWS = int(os.environ.get("RECOVERY_ROWS", "300000"))
REPEATS = int(os.environ.get("RECOVERY_REPEATS", "3"))
STATE = WORK / "state.json"


def _setup() -> None:
    """In the stack's environment: benchmark, dataset, champion, runs, a token, the files."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from experiments.benchmarks import services
    from experiments.models import PredictionSource
    from experiments.tracking import services as run_services
    from tests.experiments.benchmark_helpers import write_large_binary_case
    from tickets.models import Project

    project = Project.objects.get(key="AUTH")
    users = get_user_model().objects
    lead, engineer = users.get(username="lead"), users.get(username="engineer")
    case = write_large_binary_case(WORK / "files", n_rows=ROWS, n_groups=max(2, ROWS // 500))
    benchmark = services.benchmark_create(project=project, user=lead, name="recovery", task="binary")
    dataset = services.dataset_upload(benchmark=benchmark, user=lead, path=case.truth, original_name="truth.csv")
    champion = run_services.run_create(project=project, user=engineer, name="recovery-champion")
    predictions = services.predictions_upload(
        run=champion,
        dataset=dataset,
        user=engineer,
        path=case.champion,
        original_name="champion.csv",
        source=PredictionSource.API,
    )
    evaluation, _ = services.evaluation_request(
        run=champion, dataset=dataset, user=engineer, predictions=predictions, enqueue=False
    )
    services.evaluation_execute(evaluation_id=evaluation.pk)
    evaluation.refresh_from_db()
    services.champion_promote(benchmark=benchmark, evaluation=evaluation, user=lead)
    runs = [run_services.run_create(project=project, user=engineer, name=f"recovery-{i}").pk for i in range(REPEATS)]
    STATE.write_text(
        json.dumps(
            {
                "runs": runs,
                "token": Token.objects.get_or_create(user=engineer)[0].key,
                "challenger": str(case.challenger),
            }
        )
    )


def _api(stack, path: str, token: str) -> dict:
    request = urllib.request.Request(stack.url + path, headers={"Authorization": f"Token {token}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
        return json.load(response)


def _upload(stack, run_id: int, state: dict) -> int:
    import requests

    with open(state["challenger"], "rb") as handle:
        response = requests.post(
            f"{stack.url}/api/v1/runs/{run_id}/predictions/",
            headers={"Authorization": f"Token {state['token']}"},
            files={"file": ("predictions.csv", handle, "text/csv")},
            data={"benchmark": "recovery"},
            timeout=300,
        )
    if response.status_code != 201:
        raise RuntimeError(f"upload failed: {response.status_code} {response.text[:300]}")
    return response.json()["evaluation"]["id"]


def _one_recovery(stack, state: dict, run_id: int) -> tuple[float, int, str]:
    evaluation = _upload(stack, run_id, state)
    path = f"/api/v1/evaluations/{evaluation}/"
    stack.wait_for(lambda: _api(stack, path, state["token"])["status"] == "running", 120, "a running evaluation")
    worker = stack.program("worker")
    killed = time.monotonic()
    os.kill(worker, signal.SIGKILL)
    status = stack.wait_for(
        lambda: (s := _api(stack, path, state["token"])["status"]) in ("succeeded", "failed") and s,
        600,
        "the evaluation to finish",
    )
    took = time.monotonic() - killed
    with sqlite3.connect(stack.var / "agileml.sqlite3", timeout=30) as db:
        count = db.execute("SELECT COUNT(*) FROM experiments_evaluation WHERE run_id = ?", (run_id,)).fetchone()[0]
    return took, count, status


def main() -> None:
    from tests.agileml.stack import Stack

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    stack = Stack(WORK, WEB_CONCURRENCY="2", WORKER_CONCURRENCY="2", LOG_LEVEL="WARNING")
    started = time.monotonic()
    stack.manage("migrate", "--noinput")
    stack.manage("clear_upload_tmp")
    stack.manage("seed_demo")
    prepared = time.monotonic() - started
    serving = stack.start(timeout=300)
    print(
        f"  make run on a fresh var/: healthy after {prepared + serving:.1f} s "
        f"(migrate + seed_demo {prepared:.1f} s, supervisord to /healthz 200 {serving:.1f} s)",
        flush=True,
    )
    try:
        subprocess.run([sys.executable, "-m", "bench.bench_recovery", "setup"], cwd=ROOT, env=stack.env, check=True)
        state = json.loads(STATE.read_text())
        times = []
        for run_id in state["runs"]:
            took, count, status = _one_recovery(stack, state, run_id)
            times.append(took)
            print(
                f"  worker SIGKILLed mid-evaluation: {status} {took:.1f} s after the kill; "
                f"{count} evaluation(s) for the upload",
                flush=True,
            )
        print(
            f"  median time from kill to finished evaluation ({len(times)} runs, {ROWS:,} rows): "
            f"{statistics.median(times):.1f} s"
        )
    finally:
        stack.stop()


if __name__ == "__main__" and sys.argv[1:] == ["setup"]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agileml.settings")
    _setup()
