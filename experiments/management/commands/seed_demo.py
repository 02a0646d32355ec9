from django.core.management.base import BaseCommand

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
