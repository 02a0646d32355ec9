"""A real ``mlflow server`` (the reference implementation) for tests that read from one.

Started like bench/bench_runs.py starts it (the same private virtualenv under var/, installed
once), on a free port in a temporary folder, with artifacts served over HTTP. When it cannot
start the test is skipped, except in CI (env ``CI`` set), where that is a failure.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from bench.bench_runs import _free_port, _mlflow_server_bin, _wait_http


def _give_up(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the reference mlflow server could not start: {reason}")
    pytest.skip(f"the reference mlflow server could not start: {reason}")


@pytest.fixture(scope="session")
def reference_mlflow(tmp_path_factory):
    """The URI of a running reference MLflow server, for the whole session."""
    folder: Path = tmp_path_factory.mktemp("reference-mlflow")
    try:
        binary = _mlflow_server_bin()
    except (OSError, subprocess.CalledProcessError) as error:
        _give_up(f"installing it failed ({error})")
    port = _free_port()
    cmd = [
        str(binary),
        "server",
        "--backend-store-uri",
        f"sqlite:///{folder / 'mlflow.db'}",
        "--artifacts-destination",
        str(folder / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    with (folder / "server.log").open("wb") as log:
        server = subprocess.Popen(cmd, cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        try:
            _wait_http(f"http://127.0.0.1:{port}/health", timeout=180)
        except RuntimeError as error:
            tail = (folder / "server.log").read_text(errors="replace")[-2000:]
            _give_up(f"{error}; its log ends: {tail}")
        yield f"http://127.0.0.1:{port}"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
