"""The Celery application. Tasks live in each app's ``tasks.py``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agileml.settings")

app = Celery("agileml")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["agileml", "tickets", "experiments"])
