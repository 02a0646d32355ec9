"""gunicorn settings for ``make run`` (``gunicorn -c python:agileml.gunicorn_conf``).

Command-line options (bind, workers) still apply; these hooks remove the upload temporary files of
web workers that died mid-request.
"""

from __future__ import annotations

import os
from pathlib import Path

from agileml.tmpfiles import remove_process_folder, remove_stale

worker_class = "agileml.web.Worker"
# A worker busy longer than this on one request is restarted.
timeout = 120
# On SIGTERM (Ctrl-C under the supervisor) requests in flight get this long to finish.
graceful_timeout = 5
keepalive = 5
# gunicorn's control socket lives in the home folder, shared by every instance: not wanted here.
control_socket_disable = True


def _upload_root() -> Path:
    # The same folder agileml.settings uses, without importing Django in the master.
    return Path(os.environ.get("AGILEML_VAR_DIR") or Path(__file__).resolve().parent.parent / "var") / "tmp"


def on_starting(server) -> None:
    for name in remove_stale(_upload_root()):
        server.log.info("Removed upload files left by a stopped process: %s", name)


def child_exit(server, worker) -> None:
    if remove_process_folder(_upload_root(), worker.pid):
        server.log.info("Removed the upload files of web worker %s", worker.pid)
