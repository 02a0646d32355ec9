"""The Celery application. Tasks live in each app's ``tasks.py``."""

import os

from celery import Celery
from celery.signals import beat_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agileml.settings")

app = Celery("agileml")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["agileml", "tickets", "experiments", "integrations", "inbox"])


def _install_heartbeats() -> None:
    # Imported late: the heartbeat module reads Django models and settings.
    from agileml.heartbeat import WorkerHeartbeat, scheduler_started

    app.steps["worker"].add(WorkerHeartbeat)
    beat_init.connect(scheduler_started, weak=False)


_install_heartbeats()
