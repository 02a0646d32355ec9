"""Planning speed: the backlog page of a 2,000-ticket project, and a bulk move of 50 tickets.

Server time is measured in-process with Django's test client (URL routing, middleware,
session, view, queries and template rendering; no network), on the database DATABASE_URL
selects: SQLite by default. The data lives in a throwaway database created for the run
(var/bench-planning.sqlite3, or test_bench_planning on PostgreSQL) and dropped after it.

    make bench                  # every benchmark
    python -m bench planning    # this one
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

TICKETS = 2_000
EPICS = 30
SPRINTS = 20  # 16 closed, 1 active, 3 planned
CLOSED, PLANNED = 16, 3
PAGE_RUNS = 30
MOVE_RUNS = 20
TARGET_PAGE_MS = 150


def _setup_database():
    import django
    from django.conf import settings
    from django.db import connection

    django.setup()
    name = str(settings.VAR_DIR / "bench-planning.sqlite3") if connection.vendor == "sqlite" else "test_bench_planning"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    old = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
    return connection, old


def _build(project_key: str, tickets: int, *, open_share: float | None = None):
    """A project like a busy team's after a year: epics, 20 sprints, ``tickets`` tickets with history.

    Rows are bulk-inserted (with the same ``created`` events the service writes) so building
    2,000 tickets takes a second, not a minute.
    """
    from django.contrib.auth import get_user_model

    from tickets import services
    from tickets.models import (
        Epic,
        Membership,
        Project,
        Role,
        Sprint,
        SprintState,
        Ticket,
        TicketEvent,
        TicketKind,
        TicketStatus,
        WorkType,
    )

    User = get_user_model()
    project = Project.objects.create(key=project_key, name=f"Bench {project_key}")
    users = []
    for i, role in enumerate([Role.LEAD, Role.ENGINEER, Role.ENGINEER, Role.ENGINEER, Role.STAKEHOLDER]):
        user, _ = User.objects.get_or_create(username=f"bench-{i}", defaults={"first_name": f"User{i}"})
        Membership.objects.create(project=project, user=user, role=role)
        users.append(user)
    epics = Epic.objects.bulk_create(
        [
            Epic(project=project, title=f"Epic {i}: a goal worth a few sprints", goal="Goal", order=i)
            for i in range(EPICS)
        ]
    )
    start = datetime.date(2026, 1, 5)
    sprints = []
    for i in range(SPRINTS):
        state = SprintState.CLOSED if i < CLOSED else SprintState.ACTIVE if i == CLOSED else SprintState.PLANNED
        day = start + datetime.timedelta(days=14 * i)
        sprints.append(
            Sprint(
                project=project,
                name=f"Sprint {i + 1}",
                goal="Ship something demonstrable",
                start_date=day,
                end_date=day + datetime.timedelta(days=13),
                state=state,
            )
        )
    sprints = Sprint.objects.bulk_create(sprints)
    closed, active, planned = sprints[:CLOSED], sprints[CLOSED], sprints[CLOSED + 1 :]
    # Where tickets sit: by default 40% in closed sprints (done history), the rest on the plan.
    in_closed = 0 if open_share == 1 else int(tickets * 0.4)
    rows = []
    for n in range(1, tickets + 1):
        if n <= in_closed:
            sprint, status = closed[n % len(closed)], TicketStatus.DONE if n % 7 else TicketStatus.SKIPPED
        elif n % 20 == 0:
            sprint, status = active, [TicketStatus.TODO, TicketStatus.IN_PROGRESS, TicketStatus.REVIEW][n % 3]
        elif n % 9 == 0:
            sprint, status = planned[n % len(planned)], TicketStatus.TODO
        else:
            sprint, status = None, TicketStatus.TODO
        kind = TicketKind.QUESTION if n % 3 == 0 else TicketKind.CODE
        rows.append(
            Ticket(
                project=project,
                number=n,
                kind=kind,
                work_type=WorkType.values[n % len(WorkType.values)],
                title=f"Ticket {n}: find out whether idea {n} moves the primary metric",
                description="Some **Markdown** that the list pages never load.\n" * 20,
                status=status,
                assignee=users[n % 4] if n % 5 else None,
                epic=epics[n % EPICS] if n % 4 else None,
                sprint=sprint,
                rank=n * services.GAP,
                estimate=n % 8 or None,
                question="Does it help?" if kind == TicketKind.QUESTION else "",
                hypothesis="It helps." if kind == TicketKind.QUESTION else "",
                answer="It did." if kind == TicketKind.QUESTION and status == TicketStatus.DONE else "",
                outcome="supported" if kind == TicketKind.QUESTION and status == TicketStatus.DONE else "",
                created_by=users[0],
            )
        )
    rows = Ticket.objects.bulk_create(rows, batch_size=500)
    Project.objects.filter(pk=project.pk).update(ticket_counter=tickets)
    TicketEvent.objects.bulk_create(
        [
            TicketEvent(
                ticket=t, actor=users[0], field="created", new=services.ticket_state(t), created_at=t.created_at
            )
            for t in rows
        ],
        batch_size=500,
    )
    on_page = sum(1 for t in rows if t.sprint is None or t.sprint.state != SprintState.CLOSED)
    return project, users[0], on_page, planned[0]


def _time(fn, runs: int) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fn()  # warm caches: templates, URL resolver, first connection
    fn()
    times = []
    with CaptureQueriesContext(connection) as queries:
        fn()
    # Counted now: every request clears the connection's query log.
    count = len(queries)
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times, count


def _backlog(project, lead) -> tuple[list[float], int]:
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(lead)
    url = f"/p/{project.key}/backlog/"

    def get():
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    return _time(get, PAGE_RUNS)


def _bulk_move(project, lead, sprint, count: int) -> tuple[list[float], int]:
    import json

    from django.test import Client
    from rest_framework.authtoken.models import Token

    from tickets.models import Ticket

    token, _ = Token.objects.get_or_create(user=lead)
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Token {token.key}")
    backlog = list(Ticket.objects.filter(project=project, sprint__isnull=True).order_by("rank")[: count + 1])
    anchor, keys = backlog[0].key, [t.key for t in backlog[1:]]
    url = f"/api/v1/projects/{project.key}/tickets/move/"
    flip = {"to_sprint": True}

    def move():
        # Back and forth: into the planned sprint, then back to the top of the backlog.
        body = (
            {"tickets": keys, "sprint": sprint.pk}
            if flip["to_sprint"]
            else {"tickets": keys, "sprint": None, "after": anchor}
        )
        response = client.post(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 200, response.content
        flip["to_sprint"] = not flip["to_sprint"]

    return _time(move, MOVE_RUNS)


def _summary(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"median {statistics.median(times):6.1f} ms   p90 {p90:6.1f} ms   min {ordered[0]:6.1f} ms"


def main() -> None:
    connection, old = _setup_database()
    try:
        vendor = connection.vendor
        print(
            f"database: {vendor} (throwaway {connection.settings_dict['NAME']}); server time via Django's test client"
        )
        big, lead, on_page, sprint = _build("BIG", TICKETS)
        small, small_lead, small_on_page, _ = _build("SMALL", TICKETS // 10)
        worst, worst_lead, worst_on_page, _ = _build("ALL", TICKETS, open_share=1)

        times, queries = _backlog(big, lead)
        _, small_queries = _backlog(small, small_lead)
        median = statistics.median(times)
        print(
            f"backlog page, {TICKETS:,} tickets / {EPICS} epics / {SPRINTS} sprints ({on_page:,} rows on the page): "
            f"{_summary(times)}   {queries} queries"
        )
        print(f"  same page with {TICKETS // 10:,} tickets ({small_on_page:,} rows): {small_queries} queries")
        verdict = "OK" if median <= TARGET_PAGE_MS and queries == small_queries else "MISSED"
        print(f"  target: median <= {TARGET_PAGE_MS} ms and constant queries -> {verdict}")
        worst_times, worst_queries = _backlog(worst, worst_lead)
        print(
            f"  worst case, all {TICKETS:,} tickets open ({worst_on_page:,} rows on the page): "
            f"{_summary(worst_times)}   {worst_queries} queries"
        )

        move_times, move_queries = _bulk_move(big, lead, sprint, 50)
        _, few_queries = _bulk_move(small, small_lead, small.sprints.filter(state="planned").first(), 2)
        print(f"bulk move of 50 tickets (API, one transaction): {_summary(move_times)}   {move_queries} queries")
        constant = "OK" if few_queries == move_queries else "MISSED"
        print(f"  the same move of 2 tickets: {few_queries} queries (constant: {constant})")
    finally:
        connection.creation.destroy_test_db(old, verbosity=0)


if __name__ == "__main__":
    main()
