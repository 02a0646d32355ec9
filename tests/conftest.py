"""Shared fixtures: the standing cast of users, clients, a real Celery worker, a browser."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tickets.models import Project, Role

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def collected_static():
    """Templates name the hashed, precompressed static files, as in production: collect them once."""
    from django.core.management import call_command

    call_command("collectstatic", "--noinput", verbosity=0)
    # The app stacks tests start in their own var/ serve these same files.
    os.environ["STATIC_ROOT"] = str(settings.STATIC_ROOT)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: its rolled-back predecessors' fragments must not leak
    into it (a later test's project may reuse their ids, content versions start at 0 again)."""
    from django.core.cache import cache

    cache.clear()


@dataclass
class Cast:
    """One project and a user for every relation to it."""

    project: Project
    lead: object
    engineer: object
    stakeholder: object
    outsider: object

    def user(self, who: str):
        return getattr(self, who)


@pytest.fixture
def cast(db) -> Cast:
    project = ProjectFactory(key="AUTH", name="Continuous authentication")
    people = {}
    for role in (Role.LEAD, Role.ENGINEER, Role.STAKEHOLDER):
        people[role.value] = MembershipFactory(project=project, role=role, user=UserFactory(username=role.value)).user
    outsider = UserFactory(username="outsider")
    # The outsider leads another project: being a lead somewhere must not leak access here.
    MembershipFactory(project=ProjectFactory(key="OTHER"), user=outsider, role=Role.LEAD)
    return Cast(project=project, outsider=outsider, **people)


def api_client_for(user, keyword: str = "Token") -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"{keyword} {token.key}")
    return client


@pytest.fixture
def api():
    """``api(user)`` → an APIClient authenticated with that user's token (None: anonymous)."""
    return api_client_for


@pytest.fixture
def web(client):
    """``web(user)`` → the Django test client logged in as ``user`` (None: anonymous)."""

    def for_user(user):
        client.logout()
        if user is not None:
            client.force_login(user)
        return client

    return for_user


# --- A real Celery worker ---------------------------------------------------------------
def _database_url_for_workers() -> str:
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def _purge_broker() -> None:
    from agileml.celery import app

    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    if options.get("data_folder_in"):
        for folder in ("data_folder_in", "control_folder"):
            shutil.rmtree(options[folder], ignore_errors=True)
            Path(options[folder]).mkdir(parents=True, exist_ok=True)
    else:
        app.control.purge()


class WorkerProcess:
    def __init__(self, env: dict[str, str], log: Path, pool: str = "solo") -> None:
        self.env = env
        self.log = log
        self.pool = pool
        self.name = f"test-{uuid.uuid4().hex[:8]}@localhost"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        from agileml.celery import app

        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "agileml",
            "worker",
            f"--pool={self.pool}",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
            "-n",
            self.name,
        ]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}; see {self.log}")
            if app.control.ping(destination=[self.name], timeout=0.5):
                return
        raise RuntimeError(f"worker did not answer a ping within {timeout}s; see {self.log}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def children(self) -> list[int]:
        """The pool's child processes (a prefork pool), as Linux lists them."""
        if self.proc is None:
            return []
        # Any thread of the main process may have forked a child.
        tasks = Path(f"/proc/{self.proc.pid}/task")
        return [int(pid) for task in tasks.iterdir() for pid in (task / "children").read_text().split()]

    def kill(self) -> None:
        """SIGKILL, as when a machine dies mid-job."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="session")
def worker_mail_dir(tmp_path_factory) -> Path:
    """Where workers started by tests write the e-mail they send (one file per connection)."""
    return tmp_path_factory.mktemp("worker-mail")


@pytest.fixture(scope="session")
def worker_env(django_db_setup, worker_mail_dir) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = _database_url_for_workers()
    env["AGILEML_TESTING"] = "1"
    # Webhook tests deliver to a receiver on this machine.
    env["WEBHOOK_ALLOW_PRIVATE"] = "1"
    env["EMAIL_BACKEND"] = "django.core.mail.backends.filebased.EmailBackend"
    env["EMAIL_FILE_PATH"] = str(worker_mail_dir)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


@pytest.fixture(scope="session")
def celery_worker(worker_env, tmp_path_factory) -> WorkerProcess:
    """A real worker process on the configured broker, sharing the test database."""
    _purge_broker()
    worker = WorkerProcess(worker_env, tmp_path_factory.mktemp("worker") / "worker.log")
    worker.start()
    yield worker
    worker.stop()


def wait_until(predicate, *, timeout: float = 60, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
