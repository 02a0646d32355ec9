"""/healthz names what is down: web, database, broker, workers (by heartbeat) and the scheduler (by its last sweep)."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys

import pytest
from django.utils import timezone

from agileml.models import Heartbeat
from agileml.services import heartbeat_record
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


def _beat(name: str, seconds_ago: float) -> None:
    Heartbeat.objects.update_or_create(
        name=name, defaults={"beat_at": timezone.now() - datetime.timedelta(seconds=seconds_ago)}
    )


def test_it_works(client, django_assert_num_queries):
    _beat("worker:w1@host", 1)
    _beat("scheduler", 10)

    # One query: the heartbeats, which also shows the database answers.
    with django_assert_num_queries(1):
        response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["failing"] == []
    assert body["worker"] == {"ok": True, "workers": ["w1@host"]}
    assert body["scheduler"]["ok"] is True and body["scheduler"]["last_sweep_age"] >= 10
    assert body["web"]["ok"] and body["database"]["ok"] and body["broker"]["ok"]


def test_no_worker_is_a_503_naming_the_worker(client):
    heartbeat_record(name="scheduler")

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["worker"]
    assert response.json()["worker"]["error"] == "no worker has ever reported"


def test_a_worker_whose_heartbeat_stopped_is_down(client, settings):
    heartbeat_record(name="scheduler")
    _beat("worker:gone@host", settings.HEALTHZ_WORKER_STALE_SECONDS + 5)

    body = client.get("/healthz").json()

    assert body["failing"] == ["worker"]
    assert "no worker heartbeat in the last" in body["worker"]["error"]


def test_one_live_worker_among_dead_ones_is_enough(client, settings):
    heartbeat_record(name="scheduler")
    _beat("worker:gone@host", settings.HEALTHZ_WORKER_STALE_SECONDS + 5)
    _beat("worker:alive@host", 0)

    body = client.get("/healthz").json()

    assert body["ok"] is True
    assert body["worker"]["workers"] == ["alive@host"]


def test_a_scheduler_that_stopped_sweeping_is_down(client, settings):
    _beat("worker:w1@host", 0)
    _beat("scheduler", settings.HEALTHZ_SCHEDULER_STALE_SECONDS + 5)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["scheduler"]
    assert response.json()["scheduler"]["error"].startswith("no sweep for")


def test_a_scheduler_that_never_reported_is_down(client):
    _beat("worker:w1@host", 0)

    assert client.get("/healthz").json()["failing"] == ["scheduler"]


def test_an_embedded_broker_whose_folder_is_gone_is_down(client, settings, tmp_path):
    heartbeat_record(name="scheduler")
    _beat("worker:w1@host", 0)
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "missing")}

    body = client.get("/healthz").json()

    assert body["failing"] == ["broker"]
    assert "missing" in body["broker"]["error"]


def test_unreachable_database_and_broker_are_named(tmp_path):
    """Real connections to ports nothing listens on, in a process of its own."""
    script = (
        "from django.test import RequestFactory\n"
        "from agileml.views import healthz\n"
        "r = healthz(RequestFactory().get('/healthz'))\n"
        "print(r.status_code, r.content.decode())\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DEBUG": "1",
        "AGILEML_VAR_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none",
        "CELERY_BROKER_URL": "redis://127.0.0.1:9/0",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    status, _, body = result.stdout.strip().partition(" ")
    assert status == "503", result.stderr
    body = json.loads(body)
    assert body["failing"] == ["database", "broker", "worker", "scheduler"]
    assert body["web"]["ok"] is True
