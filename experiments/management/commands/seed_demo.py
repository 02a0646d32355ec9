import os

from django.core.management.base import BaseCommand

from experiments.seed import abtests as abtest_demo
from experiments.seed import benchmarks as benchmark_demo
from experiments.seed import runs as runs_demo
from experiments.seed.dashboards import seed_dashboards
from experiments.tracking.models import Run
from tickets import demo as planning_demo
from tickets import selectors


class Command(BaseCommand):
    help = "Load the demo project AUTH with users lead, engineer and stakeholder (password 'demo'). Idempotent."

    def handle(self, *args, **options) -> None:
        people = planning_demo.seed_people()
        plan = planning_demo.seed_plan(people)
        # Runs come after planning so they can attach to the demo tickets.
        runs = runs_demo.seed_runs(project=people.project, engineer=people.engineer)
        # The benchmark after both: its runs join the demo tickets, its promotions the demo sprints.
        benchmark = benchmark_demo.seed_benchmark(project=people.project, lead=people.lead, engineer=people.engineer)
        # The online test after the benchmark: it puts the champion against the best offline challenger.
        online = abtest_demo.seed_online_test(benchmark=benchmark, lead=people.lead)
        # What the project holds now (after a restart it may have grown), not what the demo put in.
        counts = selectors.project_counts(project=people.project)
        run_count = Run.objects.filter(project=people.project).count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo project {people.project.key} is ready: {counts['epics']} epics, {counts['sprints']} sprints, "
                f"{counts['tickets']} tickets, {run_count} runs ({len(runs)} from the demo), "
                f"benchmark {benchmark.name}"
                + (f", online test {online.name!r} ({online.n_events:,} events)." if online else ".")
            )
        )
        # Dashboards last: they show what planning and the results left behind.
        dashboards = seed_dashboards(
            project=people.project, lead=people.lead, engineer=people.engineer, tickets=plan.tickets
        )
        base = f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
        self.stdout.write(
            self.style.SUCCESS(
                f"Stakeholder demo share link (read-only, until {dashboards.link.expires_at:%Y-%m-%d}): "
                f"{base}{dashboards.path}"
            )
        )
