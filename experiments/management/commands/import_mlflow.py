"""``manage.py import_mlflow --tracking-uri URI --experiment NAME --project KEY``: copy runs from an MLflow server."""

from __future__ import annotations

import sys

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from experiments.tracking.services.mlflow_import import mlflow_import
from tickets.models import Project


class _Progress:
    """tqdm's bar when tqdm is installed; otherwise a line on stderr every 5% of the runs."""

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.done, self.total, self.bar = enabled, 0, 0, None

    def start(self, total: int) -> None:
        self.total = total
        if not self.enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            print(f"importing {total} run(s)", file=sys.stderr, flush=True)
        else:
            self.bar = tqdm(total=total, unit="run", file=sys.stderr)

    def step(self, outcome: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(1)
            if self.done == self.total:
                self.bar.close()
        elif self.done == self.total or self.done % max(1, self.total // 20) == 0:
            print(f"  {self.done}/{self.total} runs ({100 * self.done // self.total}%)", file=sys.stderr, flush=True)


class Command(BaseCommand):
    help = (
        "Copy the runs of an MLflow experiment (params, metric histories, tags, artifacts, status, times) into "
        "project KEY. Runs tagged agileml.ticket are attached to that ticket. Importing again changes nothing; "
        "an interrupted import continues where it stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tracking-uri", required=True, help="the MLflow server, e.g. http://mlflow:5000")
        parser.add_argument("--experiment", required=True, help="name of the MLflow experiment to copy")
        parser.add_argument("--project", required=True, help="key of the AgileML project to copy into")
        parser.add_argument("--user", help="username recorded as the runs' author (default: none)")
        parser.add_argument("--limit", type=int, help="copy at most this many runs (oldest first)")
        parser.add_argument("--no-progress", action="store_true", help="no progress output on stderr")

    def handle(self, *args, **options) -> None:
        project = Project.objects.filter(key=options["project"]).first()
        if project is None:
            raise CommandError(f"There is no project {options['project']!r}.")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"There is no user {options['user']!r}.")
        progress = _Progress(enabled=not options["no_progress"])
        try:
            report = mlflow_import(
                project=project,
                tracking_uri=options["tracking_uri"],
                experiment_name=options["experiment"],
                user=user,
                limit=options["limit"],
                on_total=progress.start,
                on_run=progress.step,
            )
        except ValidationError as error:
            raise CommandError(" ".join(m for ms in error.message_dict.values() for m in ms)) from None
        self.stdout.write("\n".join(report.lines()))
