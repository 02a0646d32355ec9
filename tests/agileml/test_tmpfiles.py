"""Upload temporary files of a request or process that died are removed: when it dies and at start-up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from agileml.tmpfiles import process_folder_name, remove_stale
from tests.agileml.slow_clients import ASYNC_SERVER, WebServer, timed_get
from tests.agileml.stack import children
from tests.conftest import ROOT, wait_until


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_start_up_removes_what_dead_processes_left_and_keeps_live_ones(tmp_path):
    dead = tmp_path / process_folder_name(pid=_dead_pid())
    dead.mkdir()
    (dead / "tmpab12.upload.csv").write_bytes(b"x" * 1000)
    live = tmp_path / process_folder_name()
    live.mkdir()
    (live / "tmpcd34.upload.csv").write_bytes(b"in progress")
    other_host = tmp_path / "elsewhere-123"
    other_host.mkdir()
    (tmp_path / "tmpold.upload").write_bytes(b"from before per-process folders")

    removed = remove_stale(tmp_path)

    assert sorted(removed) == sorted([dead.name, "tmpold.upload"])
    assert not dead.exists()
    assert (live / "tmpcd34.upload.csv").exists()
    assert other_host.exists()


def test_the_start_up_command_cleans_the_configured_folder(tmp_path):
    stale = tmp_path / "tmp" / process_folder_name(pid=_dead_pid())
    stale.mkdir(parents=True)
    (stale / "partial.upload").write_bytes(b"x")
    env = {"PATH": "/usr/bin:/bin", "DEBUG": "1", "AGILEML_VAR_DIR": str(tmp_path)}

    result = subprocess.run(
        [sys.executable, "manage.py", "clear_upload_tmp"], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert not stale.exists()
    assert "Removed 1 stale" in result.stdout


@pytest.fixture
def server(tmp_path):
    server = WebServer(tmp_path, [*ASYNC_SERVER[:-1], "1"])
    server.migrate()
    server.start()
    yield server
    server.stop()


def _start_upload(port: int, size: int) -> socket.socket:
    """Send the headers and part of a multipart body of ``size`` bytes, and stop there."""
    boundary = "b0undary"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n\r\n'.encode()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {size}\r\n\r\n".encode()
        + head
        + b"id,score\n" * (size // 20)
    )
    return sock


def _upload_files(var) -> list[str]:
    return [str(p.relative_to(var)) for p in (var / "tmp").rglob("*") if p.is_file()]


@pytest.mark.worker
def test_a_web_worker_killed_mid_upload_leaves_no_file(server, tmp_path):
    master = server.proc.pid
    (worker,) = wait_until(lambda: children(master), timeout=30, what="the web worker")
    # What the worker had written of an upload when it died (Django's temporary upload file).
    folder = tmp_path / "tmp" / process_folder_name(pid=worker)
    wait_until(folder.exists, timeout=30, what="the worker's upload folder")
    (folder / "tmpzz99.upload.csv").write_bytes(b"id,score\n" * 100_000)
    sock = _start_upload(server.port, 6_000_000)

    os.kill(worker, signal.SIGKILL)
    sock.close()

    wait_until(lambda: not folder.exists(), timeout=30, what="the dead worker's upload files to go")
    wait_until(lambda: timed_get(server.port) is not None, timeout=60, what="a new web worker")
    assert _upload_files(tmp_path) == []


@pytest.mark.worker
def test_a_client_that_disconnects_mid_upload_leaves_no_file(server, tmp_path):
    sock = _start_upload(server.port, 6_000_000)
    time.sleep(0.5)  # the server is reading the body
    sock.close()

    assert timed_get(server.port) is not None
    assert _upload_files(tmp_path) == []
