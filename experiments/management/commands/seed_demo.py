import os

from django.core.management.base import BaseCommand

from experiments.dashboards_demo import seed_dashboards
from tickets import demo as planning_demo


class Command(BaseCommand):
    help = "Load the demo project AUTH with users lead, engineer and stakeholder (password 'demo'). Idempotent."

    def handle(self, *args, **options) -> None:
        people = planning_demo.seed_people()
        plan = planning_demo.seed_plan(people)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo project {people.project.key} is ready: {len(plan.epics)} epics, "
                f"{len(plan.sprints)} sprints, {len(plan.tickets)} tickets."
            )
        )
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
