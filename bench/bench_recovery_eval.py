"""Recovery: how long an evaluation takes to finish after its worker is killed with SIGKILL mid-run.

    python -m bench recovery_eval        (or `make bench`)

In var/bench-recovery/ (its own SQLite database, embedded broker and media), sets up a binary
benchmark with a BENCH_RECOVERY_ROWS-row dataset (300,000) and a champion, then BENCH_REPEATS times
(3) for each fault:

- *child*: a Celery worker (prefork, concurrency 1, no scheduler) starts the evaluation; its pool
  child is killed with SIGKILL as soon as the row says running. The message comes back
  (acks_late, reject_on_worker_lost), waits for the dead attempt's heartbeat to go stale
  (EVALUATION_STALE_SECONDS) and takes the job over.
- *whole worker*: the worker's main process is killed instead and a new worker started at once
  (as a supervisor would); the starting worker's sweep takes the job over.

It prints the seconds from the kill to the finished evaluation (median of the repeats; goal <= 20 s)
and checks each evaluation finished once, successfully. BENCH_DATABASE_URL / BENCH_BROKER_URL
measure on PostgreSQL / Redis.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench-recovery"
PYTHON = sys.executable
ROWS = int(os.environ.get("BENCH_RECOVERY_ROWS", "300000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
STATE = WORK / "state.json"
FAULTS = ("child", "whole worker")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AGILEML_VAR_DIR": str(WORK),
            "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
            "DJANGO_SETTINGS_MODULE": "agileml.settings",
            "LOG_LEVEL": "INFO",
        }
    )
    for name in ("DEBUG", "MEDIA_ROOT", "AGILEML_TESTING"):
        env.pop(name, None)
    for name, source in (("DATABASE_URL", "BENCH_DATABASE_URL"), ("CELERY_BROKER_URL", "BENCH_BROKER_URL")):
        if os.environ.get(source):
            env[name] = os.environ[source]
        else:
            env.pop(name, None)
    return env


# --- In the bench environment (subprocesses) ----------------------------------------------------
def _setup() -> None:
    """A benchmark with a champion, and one queued evaluation (no message sent) per repeat and fault."""
    import django

    django.setup()
    from experiments.benchmarks import services
    from experiments.models import PredictionSource
    from experiments.tracking import services as run_services
    from tests.experiments.benchmark_helpers import write_large_binary_case
    from tickets.demo import seed_people

    people = seed_people()
    case = write_large_binary_case(WORK / "files", n_rows=ROWS, n_groups=max(2, ROWS // 1000))
    benchmark = services.benchmark_create(project=people.project, user=people.lead, name="bench", task="binary")
    benchmark.project = people.project
    dataset = services.dataset_upload(benchmark=benchmark, user=people.lead, path=case.truth, original_name="truth.csv")

    def queued(name: str, path: Path):
        run = run_services.run_create(project=people.project, user=people.engineer, name=name)
        prediction_set = services.predictions_upload(
            run=run,
            dataset=dataset,
            user=people.engineer,
            path=path,
            original_name="p.csv",
            source=PredictionSource.API,
        )
        evaluation, _ = services.evaluation_request(
            run=run, dataset=dataset, user=people.engineer, predictions=prediction_set, enqueue=False
        )
        return evaluation

    champion = queued("champion", case.champion)
    services.evaluation_execute(evaluation_id=champion.pk)
    champion.refresh_from_db()
    services.champion_promote(benchmark=benchmark, evaluation=champion, user=people.lead)
    jobs = {fault: [queued(f"{fault} {i}", case.challenger).pk for i in range(REPEATS)] for fault in FAULTS}
    STATE.write_text(json.dumps(jobs))


class _Worker:
    def __init__(self, log: Path) -> None:
        self.log = log
        self.name = f"bench-{uuid.uuid4().hex[:6]}@localhost"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        from agileml.celery import app

        cmd = [PYTHON, "-m", "celery", "-A", "agileml", "worker", "--pool=prefork", "--concurrency=1"]
        cmd += ["--without-gossip", "--without-mingle", "--loglevel=INFO", "-n", self.name]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while not app.control.ping(destination=[self.name], timeout=0.5):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start; see {self.log}")

    def child(self) -> int:
        # Any thread of the main process may have forked the pool's child.
        (child,) = [
            pid
            for task in Path(f"/proc/{self.proc.pid}/task").iterdir()
            for pid in (task / "children").read_text().split()
        ]
        return int(child)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _poll(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)
    return value


def _measure() -> None:
    """Kill, time until finished; prints one JSON line {fault: [seconds, ...]}."""
    import django

    django.setup()
    from experiments.benchmarks.tasks import evaluation_run
    from experiments.models import Evaluation, EvaluationStatus

    jobs = json.loads(STATE.read_text())
    results: dict[str, list[float]] = {}
    worker = _Worker(WORK / "worker.log")
    worker.start()
    try:
        for fault in FAULTS:
            results[fault] = []
            for evaluation_id in jobs[fault]:
                evaluation_run.delay(evaluation_id)
                rows = Evaluation.objects.filter(pk=evaluation_id)
                _poll(lambda: rows.filter(status=EvaluationStatus.RUNNING).exists(), 120, "the claim")  # noqa: B023
                if fault == "child":
                    os.kill(worker.child(), signal.SIGKILL)
                    killed = time.monotonic()
                else:
                    worker.proc.kill()
                    killed = time.monotonic()
                    worker.proc.wait()
                    worker = _Worker(WORK / "worker.log")
                    worker.start()
                done = _poll(lambda: rows.filter(status__in=["succeeded", "failed"]).first(), 120, "the end")  # noqa: B023
                seconds = time.monotonic() - killed
                if done.status != EvaluationStatus.SUCCEEDED or done.attempts != 2:
                    raise RuntimeError(f"evaluation {evaluation_id}: {done.status} after {done.attempts} attempts")
                results[fault].append(seconds)
    finally:
        worker.stop()
    print(json.dumps(results))


# --- The measurement (this process) -------------------------------------------------------------
def main() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    print(f"  Setting up: {ROWS:,}-row dataset, champion evaluated, {REPEATS} evaluations per fault...", flush=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=_env(), check=True)
    subprocess.run([PYTHON, "-m", "bench.bench_recovery_eval", "setup"], cwd=ROOT, env=_env(), check=True)
    print("  SIGKILL mid-evaluation, seconds until the evaluation finished (no scheduler running)...", flush=True)
    out = subprocess.run(
        [PYTHON, "-m", "bench.bench_recovery_eval", "measure"], cwd=ROOT, env=_env(), capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    results = json.loads(out.stdout.strip().splitlines()[-1])
    for fault, seconds in results.items():
        shown = ", ".join(f"{s:.1f}" for s in seconds)
        goal = "goal <= 20 s" if fault == "child" else "including the new worker's start-up"
        print(f"    {fault} killed: median {statistics.median(seconds):.1f} s ({shown}) ({goal})", flush=True)


if __name__ == "__main__":
    {"setup": _setup, "measure": _measure}[sys.argv[1]]()
