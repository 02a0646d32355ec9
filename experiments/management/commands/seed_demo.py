from django.core.management.base import BaseCommand

from tickets import demo as planning_demo


class Command(BaseCommand):
    help = "Load the demo project AUTH with users lead, engineer and stakeholder (password 'demo'). Idempotent."

    def handle(self, *args, **options) -> None:
        people = planning_demo.seed_people()
        self.stdout.write(self.style.SUCCESS(f"Demo project {people.project.key} is ready."))
