"""A real worker process consumes real tasks through the configured broker."""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from agileml.services import heartbeat_record
from agileml.tasks import clear_expired_sessions
from tests.conftest import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_worker_runs_a_queued_task(celery_worker):
    expired = SessionStore()
    expired.set_expiry(timezone.now() - timezone.timedelta(days=1))
    expired["x"] = 1
    expired.create()
    alive = SessionStore()
    alive["y"] = 2
    alive.create()

    clear_expired_sessions.delay()

    wait_until(lambda: not Session.objects.filter(session_key=expired.session_key).exists(), what="the task")
    assert Session.objects.filter(session_key=alive.session_key).exists()


def test_healthz_reports_the_live_worker(client, celery_worker):
    # The worker's heartbeat thread writes its row within WORKER_HEARTBEAT_SECONDS (tests may have
    # emptied the table since the worker started).
    heartbeat_record(name="scheduler")
    body = wait_until(lambda: (b := client.get("/healthz").json())["worker"]["ok"] and b, what="a healthy worker")
    assert body["ok"] is True
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert body["worker"]["ok"] is True
    assert celery_worker.name in body["worker"]["workers"]


def test_beat_schedule_lists_the_housekeeping_job():
    from agileml.celery import app

    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "agileml.tasks.clear_expired_sessions" in tasks
    assert "agileml.tasks.clear_expired_sessions" in app.tasks
