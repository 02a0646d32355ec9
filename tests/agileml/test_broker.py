"""The embedded broker with real processes: bad files never stop a worker, no message is lost or doubled."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agileml.broker import TRANSPORT_PATH
from tests.agileml.broker_tasks import RECORD, producer_app
from tests.conftest import ROOT, WorkerProcess, wait_until

pytestmark = pytest.mark.worker


class EmbeddedWorker(WorkerProcess):
    """A worker on the embedded broker in ``folder`` that also loads the test task."""

    def __init__(self, folder: Path, log: Path) -> None:
        env = dict(os.environ, AGILEML_TESTING="1", CELERY_BROKER_URL=f"filesystem://{folder}")
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        super().__init__(env, log)
        self.app = producer_app(folder)

    def start(self, timeout: float = 60) -> None:
        cmd = [sys.executable, "-m", "celery", "-A", "agileml", "worker", "--pool=solo", "--concurrency=1"]
        cmd += ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"]
        cmd += ["--include", "tests.agileml.broker_tasks", "-n", self.name]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}; see {self.log}")
            if self.app.control.ping(destination=[self.name], timeout=0.5):
                return
        raise RuntimeError(f"worker did not answer a ping within {timeout}s; see {self.log}")


@pytest.fixture
def folders(tmp_path):
    broker, out = tmp_path / "broker", tmp_path / "out"
    out.mkdir()
    return broker, out


def test_the_embedded_broker_is_the_atomic_transport(tmp_path):
    # In a process of its own, so this holds whatever broker the suite itself is configured with.
    env = {**os.environ, "CELERY_BROKER_URL": f"filesystem://{tmp_path / 'broker'}", "DEBUG": "1"}
    probe = (
        "import django; django.setup(); from agileml.celery import app\n"
        "with app.connection_for_write() as conn: print(conn.transport_cls)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "agileml.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == TRANSPORT_PATH


def test_a_bad_message_file_never_stops_a_worker(folders, tmp_path):
    broker, out = folders
    worker = EmbeddedWorker(broker, tmp_path / "worker.log")
    worker.start()
    try:
        queue = broker / "queue" / "celery"
        # Sorted before anything a producer writes, so the worker meets them first: an empty
        # file (kombu's writer before it writes), half a message, and text that is not JSON.
        bad = {
            "00000000000000000001_empty.msg": b"",
            "00000000000000000002_half.msg": b'{"body": "eyJ',
            "00000000000000000003_text.msg": b"\xff\xfenot json",
        }
        for name, data in bad.items():
            (queue / name).write_bytes(data)
        wait_until(lambda: not any((queue / name).exists() for name in bad), timeout=30, what="the bad files")

        worker.app.send_task(RECORD, args=[str(out), 1, "message-1"])

        wait_until(lambda: (out / "done-1").exists(), timeout=30, what="the task after the bad files")
        assert worker.proc.poll() is None, "the worker died"
        assert sorted(p.name for p in (broker / "quarantine").iterdir()) == sorted(f"celery_{name}" for name in bad)
        log = worker.log.read_text()
        for name in bad:
            assert log.count(name) == 1, f"{name} should be logged once"
        assert "Unrecoverable error" not in log
    finally:
        worker.stop()


def test_concurrent_producers_and_consumers_deliver_each_message_exactly_once(folders, tmp_path):
    broker, out = folders
    producers, per_producer = 4, 2_500
    workers = [EmbeddedWorker(broker, tmp_path / f"worker-{i}.log") for i in range(2)]
    for worker in workers:
        worker.start()
    try:
        sending = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.agileml.broker_tasks",
                    str(broker),
                    str(out),
                    str(i * per_producer),
                    str(per_producer),
                ],
                cwd=ROOT,
                env=workers[0].env,
            )
            for i in range(producers)
        ]
        for process in sending:
            assert process.wait(timeout=120) == 0
        total = producers * per_producer

        wait_until(lambda: len(os.listdir(out)) >= total, timeout=240, interval=0.5, what=f"{total} executions")
        # Anything executed twice would appear now, once the queue is drained.
        wait_until(lambda: not any((broker / "queue" / "celery").iterdir()), timeout=30, what="an empty queue")

        names = os.listdir(out)
        assert sorted(names) == sorted(f"done-{n}" for n in range(total))
        assert not any((broker / "quarantine").iterdir())
        assert all(worker.proc.poll() is None for worker in workers)
        for worker in workers:
            assert f"{RECORD}[" in worker.log.read_text(), "both workers should consume"
    finally:
        for worker in workers:
            worker.stop()


def test_sending_goes_on_after_the_broker_folders_were_removed(tmp_path):
    """Purging the embedded broker (as the test suite does) removes its folders under a live connection."""
    import shutil

    app = producer_app(tmp_path / "broker")
    with app.connection_for_write() as conn:
        queue = conn.SimpleQueue("purged")
        queue.put({"n": 1})
        shutil.rmtree(tmp_path / "broker" / "queue")

        queue.put({"n": 2})

        assert queue.get(timeout=5).payload == {"n": 2}
