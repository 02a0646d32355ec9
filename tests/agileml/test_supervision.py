"""`make run`'s supervisor with real processes: whatever dies is restarted, the rest keeps serving."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.agileml.stack import Stack, alive, children

pytestmark = pytest.mark.worker


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("var"))
    stack.manage("migrate", "--noinput")
    stack.start()
    yield stack
    stack.stop()


def _serves(stack: Stack) -> None:
    stack.wait_for(lambda: stack.get("/login/")[0] == 200, 60, "the login page")


@pytest.mark.parametrize("program", ["worker", "beat", "web"])
def test_a_killed_program_is_restarted_and_the_stack_keeps_working(stack, program):
    before = stack.program(program)
    os.kill(before, signal.SIGKILL)

    stack.wait_for(lambda: stack.program(program) != before, 60, f"a new {program}")
    _serves(stack)
    stack.run_a_task()
    name = {"beat": "scheduler"}.get(program, program)
    assert f"exited: {name} (terminated by SIGKILL" in stack.log.read_text()


def test_a_killed_web_worker_is_replaced_by_its_master(stack):
    master = stack.program("web")
    (worker,) = stack.wait_for(lambda: children(master), 30, "a web worker")
    os.kill(worker, signal.SIGKILL)

    stack.wait_for(lambda: children(master) and children(master) != [worker], 30, "a new web worker")
    _serves(stack)
    assert stack.program("web") == master


def test_ctrl_c_stops_everything_within_ten_seconds(tmp_path):
    stack = Stack(tmp_path)
    stack.manage("migrate", "--noinput")
    stack.start()
    stack.run_a_task()
    pids = stack.all_pids()
    assert len(pids) >= 6, "supervisord, gunicorn master and worker, celery worker and its child, beat"

    started = time.monotonic()
    stack.proc.send_signal(signal.SIGINT)
    stack.proc.wait(timeout=15)
    took = time.monotonic() - started

    assert took < 10
    assert not [pid for pid in pids if alive(pid)]
    log = stack.log.read_text()
    assert "SIGKILL" not in log
    for name in ("web", "worker", "scheduler"):
        assert f"stopped: {name} (exit status" in log or f"stopped: {name} (terminated by SIGTERM)" in log
