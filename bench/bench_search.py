"""Project search and notification fan-out on a big project: 5,000 tickets, 50,000 comments and
5,000 runs (3 tags and 3 params each), searched through the API.

Texts are drawn from a Zipf-distributed vocabulary (5,000 words), as words in real text are.
Measured in-process with Django's test client on the database DATABASE_URL selects, in a
throwaway database (test_bench_search on PostgreSQL, var/bench-search.sqlite3 on SQLite) dropped
afterwards. PostgreSQL is the target (full-text search with GIN indexes); on SQLite the figures
are those of the ``icontains`` fallback. Also: the queries and time of one event told to 20
watchers.

    python -m bench search
"""

from __future__ import annotations

import os
import random
import secrets
import statistics
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agileml.settings")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

TICKETS = 5_000
COMMENTS = 50_000
RUNS = 5_000
TARGET_MS = 100
REPEATS = 5
QUERIES = ["gyroscope", "threshold tuning", "AUTH-4321", "keystroke latency", "xgboost", "holdout subjects",
           "learning_rate", "calibration drift", "noisy sensor", "baseline"]  # fmt: skip
WORDS = [
    "model",
    "data",
    "feature",
    "signal",
    "typing",
    "motion",
    "sensor",
    "phone",
    "user",
    "session",
    "window",
    "latency",
    "keystroke",
    "gyroscope",
    "accelerometer",
    "threshold",
    "tuning",
    "baseline",
    "champion",
    "challenger",
    "holdout",
    "subjects",
    "calibration",
    "drift",
    "noisy",
    "label",
    "error",
    "rate",
    "false",
    "reject",
    "accept",
    "metric",
    "auc",
    "precision",
    "recall",
    "bootstrap",
    "interval",
    "split",
    "train",
    "test",
    "validation",
    "pipeline",
    "deploy",
    "review",
    "analysis",
    "exploration",
    "literature",
    "cleaning",
    "outlier",
    "fold",
    "seed",
    "sweep",
    "grid",
    "xgboost",
    "forest",
    "logistic",
    "network",
    "embedding",
    "attention",
    "transformer",
    "lstm",
    "batch",
    "epoch",
    "optimizer",
    "adam",
    "sgd",
]


def _setup_database():
    import django
    from django.conf import settings
    from django.db import connection

    django.setup()
    name = str(settings.VAR_DIR / "bench-search.sqlite3") if connection.vendor == "sqlite" else "test_bench_search"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    old = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    return connection, old


def _vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """The domain words plus 5,000 made-up ones, drawn with Zipf's law (weight 1/rank) as words in
    real text are: a few words are in most texts, most words in few."""
    syllables = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"]
    made_up = ["".join(rng.choices(syllables, k=3)) for _ in range(5_000)]
    words = list(dict.fromkeys(WORDS + made_up))
    rng.shuffle(words)
    return words, [1 / (rank + 1) for rank in range(len(words))]


_VOCABULARY: tuple[list[str], list[float]] | None = None


def _text(rng: random.Random, n: int) -> str:
    global _VOCABULARY
    if _VOCABULARY is None:
        _VOCABULARY = _vocabulary(random.Random(11))
    words, weights = _VOCABULARY
    return " ".join(rng.choices(words, weights=weights, k=n))


def _build():
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from experiments.models import Param, Run, Tag
    from tickets.models import Comment, Membership, Project, Role, Ticket, WorkType

    rng = random.Random(7)
    User = get_user_model()
    project = Project.objects.create(key="AUTH", name="Bench", ticket_counter=TICKETS)
    lead = User.objects.create(username="bench-lead")
    Membership.objects.create(project=project, user=lead, role=Role.LEAD)
    now = timezone.now()
    Ticket.objects.bulk_create(
        [
            Ticket(
                project=project, number=i + 1, work_type=WorkType.ALGORITHM_DEVELOPMENT,
                title=_text(rng, 5).capitalize(),
                description=_text(rng, 40), answer=_text(rng, 10) if i % 5 == 0 else "", rank=(i + 1) * 1000,
                created_by=lead, created_at=now,
            )
            for i in range(TICKETS)
        ],
        batch_size=1000,
    )  # fmt: skip
    ticket_ids = list(Ticket.objects.filter(project=project).values_list("pk", flat=True))
    Comment.objects.bulk_create(
        [
            Comment(ticket_id=rng.choice(ticket_ids), author=lead, body=_text(rng, 20), created_at=now)
            for _ in range(COMMENTS)
        ],
        batch_size=2000,
    )
    runs = Run.objects.bulk_create(
        [
            Run(project=project, name=f"{_text(rng, 1)}-{_text(rng, 1)}-{i}", start_time=now, started_by=lead)
            for i in range(RUNS)
        ],
        batch_size=1000,
    )
    Tag.objects.bulk_create(
        [Tag(run=r, key=k, value=_text(rng, 1)) for r in runs for k in ("feature_set", "model", "stage")],
        batch_size=3000,
    )
    Param.objects.bulk_create(
        [
            Param(run=r, project=project, key=k, value=str(round(rng.random(), 3)))
            for r in runs
            for k in ("learning_rate", "depth", "seed")
        ],
        batch_size=3000,
    )
    return project, lead, ticket_ids


def _measure_search(client, connection) -> None:
    from django.test.utils import CaptureQueriesContext

    from tickets.models import Comment

    print(f"{'query':24} {'median ms':>10} {'queries':>8} {'results':>8} {'comments with its first word':>30}")
    medians = []
    for query in QUERIES:
        timings, counts = [], set()
        client.get("/api/v1/projects/AUTH/search/", {"q": query})  # warm
        for _ in range(REPEATS):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get("/api/v1/projects/AUTH/search/", {"q": query})
                timings.append((time.perf_counter() - started) * 1000)
            counts.add(len(captured))
            assert response.status_code == 200, response.content
        median = statistics.median(timings)
        medians.append(median)
        first = query.split()[0]
        share = Comment.objects.filter(body__contains=first).count() / COMMENTS
        print(
            f"{query:24} {median:10.1f} {'/'.join(map(str, sorted(counts))):>8} "
            f"{response.json()['count']:8d} {share:29.1%}"
        )
    overall = statistics.median(medians)
    verdict = "meets" if overall <= TARGET_MS else "MISSES"
    print(f"median over the queries: {overall:.1f} ms ({verdict} the {TARGET_MS} ms target)")


def _measure_fanout(project, lead, ticket_ids, connection) -> None:
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    from agileml import events
    from inbox.models import Notification, Watcher
    from tickets.models import Membership, Role, Ticket

    User = get_user_model()
    people = User.objects.bulk_create([User(username=f"watcher{i}") for i in range(20)])
    Membership.objects.bulk_create([Membership(project=project, user=u, role=Role.ENGINEER) for u in people])
    ticket = Ticket.objects.select_related("project").get(pk=ticket_ids[0])
    Watcher.objects.bulk_create([Watcher(ticket=ticket, user=u) for u in people])
    timings = []
    for n in range(REPEATS):
        with transaction.atomic(), CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            events.publish(
                events.TICKET_STATUS_CHANGED, project=project, actor=lead,
                payload={"ticket": ticket.key, "title": ticket.title, "old": "todo", "new": f"s{n}"},
            )  # fmt: skip
            timings.append((time.perf_counter() - started) * 1000)
    told = Notification.objects.filter(ticket=ticket).count()
    print(
        f"fan-out of one event to 20 watchers: {len(captured)} queries, median {statistics.median(timings):.1f} ms "
        f"({told // REPEATS} notifications per event)"
    )


def main() -> None:
    connection, old = _setup_database()
    try:
        from django.test import Client

        started = time.perf_counter()
        project, lead, ticket_ids = _build()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        print(
            f"built {TICKETS:,} tickets, {COMMENTS:,} comments, {RUNS:,} runs on {connection.vendor} "
            f"in {time.perf_counter() - started:.0f}s"
        )
        client = Client(HTTP_HOST="localhost")
        client.force_login(lead)
        _measure_search(client, connection)
        _measure_fanout(project, lead, ticket_ids, connection)
    finally:
        connection.creation.destroy_test_db(old, verbosity=0)


if __name__ == "__main__":
    main()
