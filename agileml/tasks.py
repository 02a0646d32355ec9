"""Housekeeping jobs run on the periodic schedule (``CELERY_BEAT_SCHEDULE``)."""

from importlib import import_module

from celery import shared_task
from django.conf import settings


@shared_task(name="agileml.tasks.clear_expired_sessions")
def clear_expired_sessions() -> None:
    """Delete expired login sessions, as ``manage.py clearsessions`` does."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
