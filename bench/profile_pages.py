"""Where the nine pages of `python -m bench load` spend their time: `python -m bench.profile_pages`.

Builds (once; kept in ``var/bench-profile.sqlite3`` or PostgreSQL's ``test_bench_profile``) the same
busy project as the load benchmark, then asks for each page through Django's test client as a lead
and as a stakeholder, without a web server: milliseconds of CPU per page (median of REPEAT),
queries per page, and with ``--profile PAGE`` the hottest functions of that page (cProfile).

python -m bench.profile_pages                     # table of the nine pages
python -m bench.profile_pages --profile benchmark # + cProfile of one page (cumulative)
python -m bench.profile_pages --only demo,ticket  # some pages
python -m bench.profile_pages --rebuild           # build the project again
"""

from __future__ import annotations

import cProfile
import os
import pstats
import secrets
import statistics
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agileml.settings")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

REPEAT = int(os.environ.get("PROFILE_REPEAT", "7"))


def _database(rebuild: bool):
    import django
    from django.conf import settings
    from django.db import connection

    django.setup()
    name = str(settings.VAR_DIR / "bench-profile.sqlite3") if connection.vendor == "sqlite" else "test_bench_profile"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=not rebuild)


def main(argv: list[str]) -> None:
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    rebuild = "--rebuild" in argv
    profile = argv[argv.index("--profile") + 1] if "--profile" in argv else None
    only = argv[argv.index("--only") + 1].split(",") if "--only" in argv else None
    _database(rebuild)

    from bench.bench_load import _members, _pages
    from tickets.models import Membership, Project

    project = Project.objects.filter(key="LOAD").first()
    if project is None:
        from bench.bench_dashboards import _build

        started = time.perf_counter()
        project = _build("LOAD", 0.4)[0]
        _members(project)
        print(f"built the project in {time.perf_counter() - started:.0f}s")
    pages = _pages(project)
    clients = {}
    for role in ("lead", "engineer", "stakeholder"):
        client = Client(HTTP_HOST="localhost")
        client.force_login(
            Membership.objects.filter(project=project, role=role, user__username__startswith="load-")[0].user
        )
        clients[role] = client

    print(f"database: {connection.vendor}; CPU ms per page (median of {REPEAT}, after one warm-up), queries")
    print(f"  {'page':12} {'lead ms':>8} {'stakeh. ms':>10} {'queries':>8} {'bytes':>9}")
    for label, url in pages:
        if only and label not in only:
            continue
        row = []
        for role in ("lead", "stakeholder"):
            client = clients[role]
            response = client.get(url)
            assert response.status_code == 200, (label, role, response.status_code)
            times = []
            for _ in range(REPEAT):
                started = time.process_time()
                response = client.get(url)
                times.append(time.process_time() - started)
            row.append(statistics.median(times) * 1000)
        with CaptureQueriesContext(connection) as queries:
            response = clients["lead"].get(url)
        print(f"  {label:12} {row[0]:>8.1f} {row[1]:>10.1f} {len(queries):>8} {len(response.content):>9,}")
        reset_queries()

    if profile:
        url = dict(pages)[profile]
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(REPEAT):
            clients["engineer"].get(url)
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
        stats.sort_stats("cumulative").print_stats(r"experiments|tickets|agileml|inbox|loader_tags|defaulttags", 40)
        stats.sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main(sys.argv[1:])
