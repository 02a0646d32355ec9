"""``manage.py import_jira FILE --project KEY [--dry-run]``: bring a Jira CSV export into a project."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tickets.models import Project
from tickets.services.jira_import import decode_export, jira_import


class Command(BaseCommand):
    help = (
        "Import a Jira CSV export (all fields) into project KEY: epics, sprints, tickets, comments and their "
        "history. Importing the same file again changes nothing. A bad row is reported by line and column and "
        "nothing is saved. --dry-run prints what would change."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the CSV file Jira exported")
        parser.add_argument("--project", required=True, help="key of the AgileML project to import into")
        parser.add_argument("--dry-run", action="store_true", help="report what would change, save nothing")
        parser.add_argument("--user", help="username recorded as the one who made changes to existing tickets")

    def handle(self, *args, **options) -> None:
        project = Project.objects.filter(key=options["project"]).first()
        if project is None:
            raise CommandError(f"There is no project {options['project']!r}.")
        actor = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"There is no user {options['user']!r}.")
        try:
            data = options["file"].read_bytes()
        except OSError as error:
            raise CommandError(f"{options['file']}: {error.strerror}") from None
        try:
            report = jira_import(project=project, actor=actor, text=decode_export(data), dry_run=options["dry_run"])
        except ValidationError as error:
            messages = [m for ms in error.message_dict.values() for m in ms]
            raise CommandError(f"{options['file']}: " + "\n".join(messages)) from None
        self.stdout.write("\n".join(report.lines()))
