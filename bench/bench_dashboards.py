"""Dashboard speed: every dashboard and demo page of a project with 50 sprints, 5,000 tickets
(with their history), 5,000 runs and 1,000 evaluations.

Server time is measured in-process with Django's test client (routing, middleware, session,
view, queries and template rendering; no network) on the database DATABASE_URL selects
(SQLite by default), in a throwaway database (var/bench-dashboards.sqlite3, or
test_bench_dashboards on PostgreSQL) dropped afterwards. Query counts are compared with a
project a tenth the size: they must be equal.

    make bench                    # every benchmark
    python -m bench dashboards    # this one
"""

from __future__ import annotations

import datetime
import os
import secrets
import statistics
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agileml.settings")
# Production settings (DEBUG off, cached templates) need a key; a run-local random one will do.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

SPRINTS = 50  # 47 closed, 1 active, 2 planned
TICKETS = 5_000
RUNS = 5_000
EVALUATIONS = 1_000
PAGE_RUNS = 15
TARGET_MS = 300


def _setup_database():
    import django
    from django.conf import settings
    from django.db import connection

    django.setup()
    name = (
        str(settings.VAR_DIR / "bench-dashboards.sqlite3") if connection.vendor == "sqlite" else "test_bench_dashboards"
    )
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    old = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    return connection, old


def _at(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=datetime.UTC)


def _build(key: str, scale: float):
    """A busy project, bulk-inserted with the same history rows the services write."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from experiments.dashboards import services as dashboards_services
    from experiments.models import (
        Benchmark,
        ChampionChange,
        DemoMaterial,
        Evaluation,
        EvaluationDataset,
        PredictionSet,
        Run,
    )
    from tests.experiments.dashboard_story import png_bytes
    from tickets.models import Membership, Project, Role, Sprint, SprintState, Ticket, TicketEvent, WorkType

    User = get_user_model()
    n_sprints = max(3, int(SPRINTS * scale))
    n_tickets, n_runs, n_evaluations = int(TICKETS * scale), int(RUNS * scale), int(EVALUATIONS * scale)
    project = Project.objects.create(key=key, name=f"Bench {key}", ticket_counter=n_tickets)
    lead, _ = User.objects.get_or_create(username=f"{key.lower()}-lead")
    stakeholder, _ = User.objects.get_or_create(username=f"{key.lower()}-stakeholder")
    Membership.objects.create(project=project, user=lead, role=Role.LEAD)
    Membership.objects.create(project=project, user=stakeholder, role=Role.STAKEHOLDER)

    today = timezone.localdate()
    first = today - datetime.timedelta(days=14 * (n_sprints - 2) + 5)
    sprints = []
    for i in range(n_sprints):
        start = first + datetime.timedelta(days=14 * i)
        state = (
            SprintState.CLOSED
            if i < n_sprints - 3
            else SprintState.ACTIVE
            if i == n_sprints - 3
            else SprintState.PLANNED
        )
        sprints.append(
            Sprint(
                project=project,
                name=f"Sprint {i + 1}",
                goal=f"Goal {i + 1}: move the primary metric and learn one thing",
                start_date=start,
                end_date=start + datetime.timedelta(days=9),
                state=state,
                started_at=_at(start, 9) if state != SprintState.PLANNED else None,
                closed_at=_at(start + datetime.timedelta(days=9), 17) if state == SprintState.CLOSED else None,
            )
        )
    sprints = Sprint.objects.bulk_create(sprints)
    per_sprint = n_tickets // n_sprints
    tickets, plan = [], []
    for n in range(1, n_tickets + 1):
        sprint = sprints[min((n - 1) // per_sprint, n_sprints - 1)]
        question = n % 3 == 0
        closed = sprint.state == SprintState.CLOSED
        status = ("done" if n % 9 else "skipped") if closed else ("done" if n % 4 == 0 else "todo")
        if sprint.state == SprintState.PLANNED:
            status = "todo"
        answered = question and status == "done"
        tickets.append(
            Ticket(
                project=project,
                number=n,
                kind="question" if question else "code",
                work_type=WorkType.values[n % len(WorkType.values)],
                title=f"Ticket {n}: does idea {n} move the metric?",
                status=status,
                sprint=sprint,
                rank=n * 1024,
                question="Does it help?" if question else "",
                hypothesis="It helps." if question else "",
                answer=f"It did, by **{n % 7}** points." if answered else "",
                outcome=["supported", "refuted", "inconclusive"][n % 3] if answered else "",
                answered_at=_at(sprint.start_date + datetime.timedelta(days=n % 9), 12) if answered else None,
                skip_reason="Answered elsewhere" if status == "skipped" else "",
                created_at=_at(sprint.start_date - datetime.timedelta(days=2), 10),
            )
        )
        plan.append((sprint, status))
    tickets = Ticket.objects.bulk_create(tickets, batch_size=1000)
    events = []
    for ticket, (sprint, status) in zip(tickets, plan, strict=True):
        added_late = ticket.number % 10 == 0
        created_sprint = None if added_late else sprint.pk
        events.append(
            TicketEvent(
                ticket=ticket,
                field="created",
                new={"status": "todo", "sprint": created_sprint, "epic": None, "assignee": None, "kind": ticket.kind},
                created_at=ticket.created_at,
            )
        )
        if added_late and sprint.started_at:
            events.append(
                TicketEvent(
                    ticket=ticket, field="sprint", old=None, new=sprint.pk, created_at=_at(sprint.start_date, 14)
                )
            )
        if status != "todo":
            day = sprint.start_date + datetime.timedelta(days=1 + ticket.number % 8)
            events.append(
                TicketEvent(ticket=ticket, field="status", old="todo", new="in_progress", created_at=_at(day, 9))
            )
            events.append(
                TicketEvent(ticket=ticket, field="status", old="in_progress", new=status, created_at=_at(day, 15))
            )
    TicketEvent.objects.bulk_create(events, batch_size=2000)
    by_sprint: dict[int, list] = {}
    for ticket, (sprint, status) in zip(tickets, plan, strict=True):
        by_sprint.setdefault(sprint.pk, []).append((f"{key}-{ticket.number}", status))
    for sprint in sprints:
        if sprint.state == SprintState.CLOSED:
            rows = by_sprint.get(sprint.pk, [])
            sprint.snapshot = {
                "committed": [k for k, _ in rows if not k.endswith("0")],
                "added": [k for k, _ in rows if k.endswith("0")],
                "removed": [],
                "completed": [k for k, s in rows if s == "done"],
                "skipped": [k for k, s in rows if s == "skipped"],
                "carried_over": [],
            }
    Sprint.objects.bulk_update([s for s in sprints if s.snapshot], ["snapshot"])

    runs = Run.objects.bulk_create(
        [
            Run(
                project=project,
                ticket=tickets[i % len(tickets)],
                name=f"run-{i}",
                status="finished",
                start_time=_at(sprints[min(i * n_sprints // n_runs, n_sprints - 3)].start_date, 11),
            )
            for i in range(n_runs)
        ],
        batch_size=1000,
    )
    benchmark = Benchmark.objects.create(project=project, name="holdout", task="binary", primary_metric="auc")
    dataset = EvaluationDataset.objects.create(
        benchmark=benchmark, version=1, file="t.csv", original_name="t.csv", sha256="0" * 64, size=1, n_rows=1
    )
    evaluated = runs[:: max(1, n_runs // n_evaluations)][:n_evaluations]
    predictions = PredictionSet.objects.bulk_create(
        [
            PredictionSet(
                run=run,
                dataset=dataset,
                file=f"p{run.pk}.csv",
                original_name="p.csv",
                sha256=f"{run.pk:064d}",
                size=1,
                n_rows=1,
                n_covered=1,
                source="api",
            )
            for run in evaluated
        ],
        batch_size=1000,
    )
    evaluations, champion = [], 0.70
    promotions = []
    for i, (run, prediction) in enumerate(zip(evaluated, predictions, strict=True)):
        value = 0.70 + 0.25 * i / len(evaluated) + (0.01 if i % 3 == 0 else -0.02)
        verdict = (
            "better" if value > champion + 0.01 else "worse" if value < champion - 0.01 else "no_significant_difference"
        )
        queued = run.start_time + datetime.timedelta(hours=2)
        evaluations.append(
            Evaluation(
                benchmark=benchmark,
                dataset=dataset,
                run=run,
                predictions=prediction,
                primary_metric="auc",
                threshold=0.5,
                n_resamples=1000,
                key=f"{run.pk:064d}",
                status="succeeded",
                queued_at=queued,
                finished_at=queued + datetime.timedelta(minutes=3),
                primary_value=value,
                primary_ci_low=value - 0.01,
                primary_ci_high=value + 0.01,
                verdict=verdict,
            )
        )
        if verdict == "better" and i % 20 == 0:
            champion = value
            promotions.append((run, value, queued + datetime.timedelta(hours=1)))
    Evaluation.objects.bulk_create(evaluations, batch_size=1000)
    ChampionChange.objects.bulk_create(
        [
            ChampionChange(
                benchmark=benchmark,
                run=run,
                run_name=run.name,
                ticket=run.ticket,
                promoted_at=at,
                gate_allowed=True,
                primary_metric="auc",
                primary_value=value,
                primary_ci_low=value - 0.01,
                primary_ci_high=value + 0.01,
            )
            for run, value, at in promotions
        ]
    )
    # A picture on each of the latest answered questions, as the demo shows them.
    answered = Ticket.objects.filter(project=project).exclude(outcome="").order_by("-answered_at")[:12]
    DemoMaterial.objects.bulk_create(
        [
            DemoMaterial(
                ticket=t,
                kind="image",
                content=png_bytes(),
                content_type="image/png",
                width=40,
                height=24,
                size=1,
                created_at=timezone.now(),
            )
            for t in answered
        ]
    )
    _, token = dashboards_services.share_link_create(
        project=project, actor=lead, expires_at=timezone.now() + datetime.timedelta(days=7)
    )
    active = next(s for s in sprints if s.state == SprintState.ACTIVE)
    closed = sprints[len(sprints) // 2]
    return project, stakeholder, token, active, closed, len(events), len(promotions)


def _time(client, url: str, runs: int) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    get()  # warm caches: templates, URL resolver, first connection
    get()
    with CaptureQueriesContext(connection) as queries:
        get()
    count = len(queries)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        get()
        times.append((time.perf_counter() - started) * 1000)
    return times, count


def _pages(project, active, closed, token) -> list[tuple[str, str, bool]]:
    key = project.key
    return [
        ("project dashboard", f"/p/{key}/dashboard/", True),
        ("sprint dashboard, active sprint", f"/p/{key}/dashboard/sprints/{active.pk}/", True),
        ("sprint dashboard, closed sprint", f"/p/{key}/dashboard/sprints/{closed.pk}/", True),
        ("stakeholder demo", f"/p/{key}/demo/", True),
        ("sprint review (demo)", f"/p/{key}/demo/sprints/{closed.pk}/", True),
        ("demo through a share link", f"/s/{token}/", False),
    ]


def main() -> None:
    from django.test import Client

    connection, old = _setup_database()
    try:
        print(
            f"database: {connection.vendor} (throwaway {connection.settings_dict['NAME']}); "
            "server time via Django's test client"
        )
        started = time.perf_counter()
        big = _build("BIG", 1.0)
        small = _build("SMALL", 0.1)
        print(
            f"built: {SPRINTS} sprints, {TICKETS:,} tickets ({big[5]:,} history rows), {RUNS:,} runs, "
            f"{EVALUATIONS:,} evaluations, {big[6]} promotions (and a project a tenth the size) "
            f"in {time.perf_counter() - started:.1f}s"
        )
        missed = 0
        for (label, url, member), (_, small_url, _) in zip(
            _pages(big[0], big[3], big[4], big[2]), _pages(small[0], small[3], small[4], small[2]), strict=True
        ):
            client, small_client = Client(HTTP_HOST="localhost"), Client(HTTP_HOST="localhost")
            if member:
                client.force_login(big[1])
                small_client.force_login(small[1])
            times, queries = _time(client, url, PAGE_RUNS)
            _, small_queries = _time(small_client, small_url, 1)
            ordered = sorted(times)
            median = statistics.median(times)
            ok = median <= TARGET_MS and queries == small_queries
            missed += not ok
            print(
                f"{label:34s} median {median:6.1f} ms   p90 {ordered[int(0.9 * (len(ordered) - 1))]:6.1f} ms   "
                f"{queries} queries (tenth-size project: {small_queries})   {'OK' if ok else 'MISSED'}"
            )
        print(
            f"target: median <= {TARGET_MS} ms and constant queries on every page -> {'OK' if not missed else 'MISSED'}"
        )
    finally:
        connection.creation.destroy_test_db(old, verbosity=0)


if __name__ == "__main__":
    main()
