"""Logged models: ``log_model`` and ``load_model`` of a 20 MB model, the real MLflow client against
AgileML and against a real ``mlflow server`` side by side.

    python -m bench models

Starts AgileML under gunicorn and a reference ``mlflow server`` (SQLite backend, serving artifacts
over HTTP from a temporary folder, installed into var/bench-mlflow-venv by ``bench_runs``), each on
a free port, then runs the same client script against each in alternating rounds: a pyfunc model
whose pickled weights are 20 MB is logged (``mlflow.pyfunc.log_model``) and loaded back by
``models:/<model id>`` and by ``runs:/<run id>/<name>``. Prints the median seconds of each step.

Environment: BENCH_MODEL_MB (20), BENCH_MODEL_ROUNDS (3), BENCH_SKIP_MLFLOW=1 for AgileML alone.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench.bench_runs import PYTHON, VAR, _free_port, _mlflow_server_bin, _stop, _wait_http, start_agileml

MODEL_MB = int(os.environ.get("BENCH_MODEL_MB", "20"))
ROUNDS = int(os.environ.get("BENCH_MODEL_ROUNDS", "3"))

CLIENT_SCRIPT = r"""
import json, sys, time
import numpy as np
import mlflow
import mlflow.pyfunc


class Weights(mlflow.pyfunc.PythonModel):
    def __init__(self, weights):
        self.weights = weights

    def predict(self, context, model_input, params=None):
        return [float(self.weights[:4].sum())] * len(model_input)


megabytes = int(sys.argv[1])
weights = np.random.default_rng(0).random(megabytes * 1024 * 1024 // 8)
mlflow.set_experiment("AUTH")
with mlflow.start_run() as run:
    started = time.perf_counter()
    info = mlflow.pyfunc.log_model(name="weights", python_model=Weights(weights), pip_requirements=["numpy"])
    logged = time.perf_counter() - started
started = time.perf_counter()
by_id = mlflow.pyfunc.load_model(info.model_uri)
loaded_by_id = time.perf_counter() - started
started = time.perf_counter()
by_run = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/weights")
loaded_by_run = time.perf_counter() - started
expected = float(weights[:4].sum())
assert by_id.predict([[1]])[0] == expected and by_run.predict([[1]])[0] == expected
print(json.dumps({"log_model": logged, "load_by_model_id": loaded_by_id, "load_by_run": loaded_by_run}))
"""


def start_reference(folder: Path) -> tuple[subprocess.Popen, str]:
    """A reference MLflow server that serves artifacts over HTTP, as AgileML does."""
    binary = _mlflow_server_bin()
    port = _free_port()
    cmd = [
        str(binary), "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
        "--artifacts-destination", str(folder / "artifacts"), "--serve-artifacts",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
    ]  # fmt: skip
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(cmd, cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    _wait_http(f"http://127.0.0.1:{port}/health", timeout=180)
    return server, f"http://127.0.0.1:{port}"


def _client(uri: str, token: str | None) -> dict:
    env = dict(os.environ, MLFLOW_TRACKING_URI=uri)
    env.pop("MLFLOW_TRACKING_TOKEN", None)
    if token:
        env["MLFLOW_TRACKING_TOKEN"] = token
    with tempfile.TemporaryDirectory() as work:
        out = subprocess.run(
            [PYTHON, "-c", CLIENT_SCRIPT, str(MODEL_MB)], env=env, capture_output=True, text=True, cwd=work
        )
    if out.returncode:
        raise RuntimeError(f"client failed against {uri}:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    with_mlflow = os.environ.get("BENCH_SKIP_MLFLOW") != "1"
    VAR.mkdir(exist_ok=True)
    reference_dir = Path(tempfile.mkdtemp(prefix="bench-models-", dir=VAR))
    servers = []
    try:
        ours_server, ours_uri, token = start_agileml()
        servers.append(ours_server)
        targets = [("AgileML", ours_uri, token)]
        if with_mlflow:
            theirs_server, theirs_uri = start_reference(reference_dir)
            servers.append(theirs_server)
            targets.append(("MLflow server", theirs_uri, None))
        results: dict[str, list[dict]] = {name: [] for name, _, _ in targets}
        for round_number in range(ROUNDS):
            for name, uri, key in targets if round_number % 2 == 0 else targets[::-1]:
                results[name].append(_client(uri, key))
    finally:
        for server in servers:
            _stop(server)
        shutil.rmtree(reference_dir, ignore_errors=True)
    print(f"  a {MODEL_MB} MB pyfunc model, median of {ROUNDS} alternating rounds (seconds):", flush=True)
    print(f"  {'server':<16}{'log_model':>12}{'load models:/':>16}{'load runs:/':>14}", flush=True)
    for name, rows in results.items():
        medians = [statistics.median(r[k] for r in rows) for k in ("log_model", "load_by_model_id", "load_by_run")]
        print(f"  {name:<16}{medians[0]:>12.2f}{medians[1]:>16.2f}{medians[2]:>14.2f}", flush=True)
