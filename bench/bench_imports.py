"""Import speed: a 5,000-issue Jira export, and 1,000 MLflow runs of 100 metric points each.

    python -m bench imports

1. Generates a Jira CSV export (50 epics, 30 sprints, 5,000 issues with quoted multi-line
   descriptions and three Comment columns) and imports it into a throwaway database: a dry
   run, the import, and the same file again (nothing changes). Time and peak memory each.
2. Fills a real `mlflow server` (bench/bench_runs.py's, SQLite backend) with runs of 100
   metric points and copies them with `manage.py import_mlflow`'s service, then again.

Each measured step runs in a forked child whose peak resident memory (VmHWM) is reset
first, so the figure is that step's own (it includes the forked interpreter and Django).
The database is DATABASE_URL's (SQLite by default) with a throwaway name, dropped after.

Environment: BENCH_JIRA_ISSUES (5000), BENCH_MLFLOW_RUNS (1000; lower it when the reference
server is slow), BENCH_MLFLOW_POINTS (100), BENCH_SKIP_MLFLOW=1 for the Jira part alone.
"""

from __future__ import annotations

import contextlib
import csv
import io
import multiprocessing
import os
import resource
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agileml.settings")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

JIRA_ISSUES = int(os.environ.get("BENCH_JIRA_ISSUES", "5000"))
MLFLOW_RUNS = int(os.environ.get("BENCH_MLFLOW_RUNS", "1000"))
MLFLOW_POINTS = int(os.environ.get("BENCH_MLFLOW_POINTS", "100"))
EPICS, SPRINTS, PEOPLE = 50, 30, 25
STATUSES = ["To Do", "In Progress", "In Review", "Done", "Done", "Closed", "Blocked"]
TYPES = ["Story", "Story", "Task", "Bug", "Spike", "Sub-task"]


def jira_export(issues: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["Summary", "Issue key", "Issue id", "Issue Type", "Status", "Resolution", "Assignee", "Reporter", "Created",
         "Updated", "Resolved", "Sprint", "Sprint", "Description", "Custom field (Epic Link)", "Comment", "Comment",
         "Comment"]
    )  # fmt: skip
    for e in range(EPICS):
        writer.writerow(
            [f"Epic {e}", f"BIG-{e + 1}", str(10000 + e), "Epic", "In Progress", "", "", "Person 0",
             "01/Jan/26 9:00 AM", "", "", "", "", f"Goal of epic {e}.\nMore words.", "", "", "", ""]
        )  # fmt: skip
    for i in range(issues - EPICS):
        n = EPICS + i + 1
        status = STATUSES[i % len(STATUSES)]
        done = status in ("Done", "Closed")
        day = 1 + i % 28
        writer.writerow(
            [
                f"Issue {n}: make the {i % 97}th thing faster",
                f"BIG-{n}",
                str(10000 + n),
                TYPES[i % len(TYPES)],
                status,
                "Done" if done else "",
                f"Person {i % PEOPLE}",
                f"Person {(i + 3) % PEOPLE}",
                f"{day:02d}/Feb/26 10:{i % 60:02d} AM",
                f"{day:02d}/Mar/26 4:05 PM",
                f"{day:02d}/Mar/26 4:05 PM" if done else "",
                f"Sprint {i % SPRINTS}",
                f"Sprint {(i + 1) % SPRINTS}" if i % 5 == 0 else "",
                f'Steps:\n1. open "the page"\n2. wait; see {i}\n\nExpected: faster.',
                f"BIG-{1 + i % EPICS}",
                f"{day:02d}/Feb/26 11:00 AM;Person {i % PEOPLE};Looked at it; details follow.\nSecond line.",
                f"{day:02d}/Feb/26 1:00 PM;5b10ac8d82e05b22cc7d{i % 9:04d};LGTM",
                f"{day:02d}/Mar/26 9:00 AM;Person {(i + 1) % PEOPLE};Done." if done else "",
            ]
        )
    return out.getvalue()


def _in_child(target, *args) -> dict:
    """Run ``target(*args)`` in a forked process; its result plus seconds and peak RSS."""
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()

    def child() -> None:
        _reset_peak()
        started = time.perf_counter()
        result = target(*args)
        seconds = time.perf_counter() - started
        queue.put({"result": result, "seconds": seconds, "peak_mb": _peak_mb()})

    process = context.Process(target=child)
    process.start()
    outcome = queue.get()
    process.join()
    return outcome


def _reset_peak() -> None:
    """Start the peak resident size afresh (Linux: clear_refs 5), so it is this step's alone."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_mb() -> float:
    try:
        status = Path("/proc/self/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _jira(text: str, dry_run: bool) -> list[str]:
    from tickets.models import Project
    from tickets.services import jira_import

    project = Project.objects.get(key="BIG")
    return jira_import(project=project, actor=None, text=text, dry_run=dry_run).lines()[1:5]


def _mlflow(uri: str, name: str) -> list[str]:
    from experiments.tracking.services.mlflow_import import mlflow_import
    from tickets.models import Project

    project = Project.objects.get(key="ML")
    return mlflow_import(project=project, tracking_uri=uri, experiment_name=name).lines()


def _fill_mlflow(uri: str, runs: int, points: int) -> str:
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    name = "bench-import"
    experiment_id = client.create_experiment(name)

    def one(i: int) -> None:
        run_id = client.create_run(experiment_id, run_name=f"run-{i}", tags={"team": "bench"}).info.run_id
        now = int(time.time() * 1000)
        client.log_batch(
            run_id,
            metrics=[Metric("loss", 1.0 / (s + 1), now + s, s) for s in range(points)],
            params=[],
        )
        client.log_param(run_id, "seed", str(i))
        client.set_terminated(run_id, "FINISHED")

    # The client prints a "View run" line per finished run; not wanted here.
    with contextlib.redirect_stdout(io.StringIO()), ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(runs)))
    return name


def _report(label: str, outcome: dict) -> None:
    print(f"{label}: {outcome['seconds']:.1f} s, peak resident memory {outcome['peak_mb']:.0f} MB")
    for line in outcome["result"]:
        print(f"    {line}")


def _setup_database():
    import django
    from django.conf import settings
    from django.db import connection

    django.setup()
    name = str(settings.VAR_DIR / "bench-imports.sqlite3") if connection.vendor == "sqlite" else "test_bench_imports"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    old = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
    return connection, old


def main() -> None:
    connection, old = _setup_database()
    try:
        from tickets.models import Project

        Project.objects.create(key="BIG", name="Big Jira project")
        Project.objects.create(key="ML", name="Runs from MLflow")
        print(f"database: {connection.vendor} (throwaway {connection.settings_dict['NAME']})")
        started = time.perf_counter()
        text = jira_export(JIRA_ISSUES)
        print(
            f"Jira export: {JIRA_ISSUES:,} issues, {len(text) / 1e6:.1f} MB, generated in "
            f"{time.perf_counter() - started:.1f} s"
        )
        _report("  dry run", _in_child(_jira, text, True))
        _report("  import", _in_child(_jira, text, False))
        _report("  same file again", _in_child(_jira, text, False))
        if os.environ.get("BENCH_SKIP_MLFLOW"):
            return
        from bench.bench_runs import start_mlflow

        server, uri = start_mlflow()
        try:
            started = time.perf_counter()
            name = _fill_mlflow(uri, MLFLOW_RUNS, MLFLOW_POINTS)
            print(
                f"MLflow server filled with {MLFLOW_RUNS:,} runs x {MLFLOW_POINTS} metric points in "
                f"{time.perf_counter() - started:.1f} s"
            )
            _report("  import", _in_child(_mlflow, uri, name))
            _report("  same runs again", _in_child(_mlflow, uri, name))
        finally:
            from bench.bench_runs import _stop

            _stop(server)
    finally:
        connection.creation.destroy_test_db(old, verbosity=0)


if __name__ == "__main__":
    main()
