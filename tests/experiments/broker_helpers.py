"""Both brokers in every test run: the configured one (the ``celery_worker`` fixture) and the other.

CI configures Redis, local runs use the embedded filesystem broker. For the broker that is not the
configured one, a worker subprocess is started with that broker's environment and tasks are sent
through a Celery app for that broker. Redis is at 127.0.0.1:6379 locally and in CI; the database
used for the second broker comes from ``AGILEML_TEST_REDIS_URL`` (default db 15).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from celery import Celery
from django.conf import settings

from agileml.broker import TRANSPORT_PATH, transport_options
from tests.conftest import ROOT, WorkerProcess

EMBEDDED = "filesystem"
REDIS = "redis"


def configured_broker() -> str:
    return EMBEDDED if settings.CELERY_BROKER_URL.startswith("filesystem") else REDIS


def other_broker_url(kind: str, folder: Path) -> str:
    if kind == REDIS:
        return os.environ.get("AGILEML_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    return f"filesystem://{folder}"


def celery_app_for(url: str) -> Celery:
    """A Celery app sending to ``url``, configured as agileml.settings configures the embedded broker.

    Not the current app: the project's tasks must keep sending through the configured broker.
    """
    if url.startswith("filesystem://"):
        folder = Path(url.removeprefix("filesystem://"))
        return Celery(
            "agileml-other-broker",
            set_as_current=False,
            # The full URL, as the worker sees it (Celery prefers the CELERY_BROKER_URL environment variable).
            broker=url,
            broker_read_url=url,
            broker_write_url=url,
            broker_transport=TRANSPORT_PATH,
            broker_transport_options=transport_options(folder),
        )
    # broker_read_url / broker_write_url win over a CELERY_BROKER_URL in this process's environment.
    return Celery("agileml-other-broker", set_as_current=False, broker=url, broker_read_url=url, broker_write_url=url)


class OtherBrokerWorker(WorkerProcess):
    """A real worker on another broker than the test process's; pinged through that broker's app."""

    def __init__(self, env: dict[str, str], log: Path, app: Celery, pool: str = "solo") -> None:
        super().__init__(env, log, pool)
        self.app = app

    def start(self, timeout: float = 60) -> None:
        cmd = [sys.executable, "-m", "celery", "-A", "agileml", "worker", f"--pool={self.pool}", "--concurrency=1"]
        cmd += ["--without-gossip", "--without-mingle", "--loglevel=INFO", "-n", self.name]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}; see {self.log}")
            if self.app.control.ping(destination=[self.name], timeout=0.5):
                return
        raise RuntimeError(f"worker did not answer a ping within {timeout}s; see {self.log}")
