"""Large Parquet uploads through the API: the web worker's peak memory for each request.

`python -m bench uploads` (2M rows; ``BENCH_UPLOAD_ROWS=20000000`` for 20M). Starts the web server
`make run` starts (gunicorn with one uvicorn worker, so one process serves every request) on SQLite
under ``var/bench/uploads/``, then, as a lead and an engineer with API tokens:

1. ``POST /api/v1/benchmarks/{id}/datasets/`` a binary ground truth of N rows as Parquet;
2. ``POST /api/v1/runs/{id}/predictions/`` the predictions for those N rows as Parquet (``evaluate``
   false: only the upload, validation and storage are measured, not the evaluation worker).

The client streams the multipart body from disk. For each request it prints the file size, the time,
and the worker's resident memory before, at the end of the body transfer, and at its peak (VmHWM,
reset before the request through ``/proc/<pid>/clear_refs``), so the streaming phase (the body going
to disk) and the validation phase (the file checked block by block) can be told apart.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench" / "uploads"
ROWS = int(os.environ.get("BENCH_UPLOAD_ROWS", "2000000"))
ROW_GROUP = 1_000_000
MIB = 1024 * 1024

SETUP = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from tickets.services.projects import project_create
from tickets.models import Membership, Role
from experiments.benchmarks import services
from experiments.tracking.services import run_create
User = get_user_model()
lead = User.objects.create_user("lead", password="pw")
engineer = User.objects.create_user("engineer", password="pw")
project = project_create(key="UP", name="Uploads", lead=lead)
Membership.objects.create(project=project, user=engineer, role=Role.ENGINEER)
bench = services.benchmark_create(project=project, user=lead, name="big", task="binary", guardrails={})
run = run_create(project=project, user=engineer, name="big-model")
print({"lead": Token.objects.create(user=lead).key, "engineer": Token.objects.create(user=engineer).key,
       "benchmark": bench.pk, "run": run.pk})
"""


def _write_files(folder: Path, n: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(5)
    ids = pa.array(np.arange(n)).cast(pa.string())
    labels = (rng.random(n) < 0.4).astype(np.int8)
    truth, predictions = folder / "truth.parquet", folder / "predictions.parquet"
    pq.write_table(pa.table({"id": ids, "label": labels}), truth, row_group_size=ROW_GROUP)
    del labels
    scores = rng.random(n)
    pq.write_table(pa.table({"id": ids, "score": scores}), predictions, row_group_size=ROW_GROUP)
    return truth, predictions


class _Body:
    """A multipart body read from disk in chunks (requests sends ``len()`` as Content-Length)."""

    def __init__(self, path: Path, fields: dict[str, str], boundary: str = "agilemlbenchboundary") -> None:
        self.content_type = f"multipart/form-data; boundary={boundary}"
        head = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()
        )
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        self._parts = [head.encode(), path, f"\r\n--{boundary}--\r\n".encode()]
        self._len = len(self._parts[0]) + path.stat().st_size + len(self._parts[2])
        self._handle = None
        self.sent_at: float | None = None

    def __len__(self) -> int:
        return self._len

    def read(self, size: int = -1) -> bytes:
        while self._parts:
            part = self._parts[0]
            if isinstance(part, bytes):
                self._parts.pop(0)
                return part
            if self._handle is None:
                self._handle = part.open("rb")
            chunk = self._handle.read(size if size and size > 0 else MIB)
            if chunk:
                return chunk
            self._handle.close()
            self._parts.pop(0)
        if self.sent_at is None:
            self.sent_at = time.monotonic()
        return b""


def _status(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values


def _worker_pid(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.2)
    raise RuntimeError("no gunicorn worker")


def _measure(port: int, worker: int, token: str, url: str, path: Path, fields: dict[str, str]) -> None:
    import requests

    Path(f"/proc/{worker}/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    before = _status(worker)["VmRSS"]
    body = _Body(path, fields)
    at_end: dict[str, int] = {}

    def watch() -> None:
        while body.sent_at is None and not done.is_set():
            time.sleep(0.005)
        if body.sent_at is not None:
            at_end.update(_status(worker))

    done = threading.Event()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.monotonic()
    response = requests.post(
        f"http://127.0.0.1:{port}{url}",
        data=body,
        headers={"Authorization": f"Token {token}", "Content-Type": body.content_type},
        timeout=1800,
    )
    elapsed = time.monotonic() - started
    done.set()
    watcher.join()
    peak = _status(worker)["VmHWM"]
    print(
        f"  POST {url} {path.name} ({path.stat().st_size / MIB:.0f} MiB): HTTP {response.status_code} in {elapsed:.1f}s"
    )
    if response.status_code >= 300:
        print(f"    {response.text[:300]}")
    transfer = f"{(body.sent_at - started):.1f}s" if body.sent_at else "?"
    print(
        f"    worker RSS before {before / MIB:.0f} MiB; when the body was sent ({transfer}) "
        f"{at_end.get('VmRSS', 0) / MIB:.0f} MiB (peak so far {at_end.get('VmHWM', 0) / MIB:.0f} MiB); "
        f"peak for the request {peak / MIB:.0f} MiB (+{(peak - before) / MIB:.0f} MiB)"
    )


def main() -> None:
    from tests.agileml.slow_clients import ASYNC_SERVER, WebServer

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    print(f"  {ROWS:,} rows, Parquet in row groups of {ROW_GROUP:,}", flush=True)
    truth, predictions = _write_files(WORK, ROWS)
    args = [*ASYNC_SERVER[:-1], "1", "--timeout", "1800"]  # one worker: every request in one process
    server = WebServer(WORK, args, UPLOAD_MAX_BYTES=str(4096 * MIB), WEB_HEADER_TIMEOUT="60")
    server.migrate()
    setup = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=server.env, capture_output=True, text=True
    )
    if setup.returncode:
        raise RuntimeError(setup.stderr)
    ids = json.loads(setup.stdout.strip().splitlines()[-1].replace("'", '"'))
    server.start()
    try:
        worker = _worker_pid(server.proc.pid)
        urllib.request.urlopen(f"http://127.0.0.1:{server.port}/login/", timeout=30).read()  # warm the worker
        _measure(server.port, worker, ids["lead"], f"/api/v1/benchmarks/{ids['benchmark']}/datasets/", truth, {})
        _measure(
            server.port,
            worker,
            ids["engineer"],
            f"/api/v1/runs/{ids['run']}/predictions/",
            predictions,
            {"benchmark": "big", "evaluate": "false"},
        )
    finally:
        server.stop()
        for path in (truth, predictions):
            path.unlink(missing_ok=True)
