"""Sharded evaluation benchmark: `python -m bench sharding [--rows N] [--groups G] [--shards S]`.

Times a paired binary evaluation (in-memory data, 1,000 resamples, groups resampled in buckets) with the
single-process engine, then with ``sharding.evaluate_sharded`` in this process and in 1 and 2 worker
processes, and checks that every report equals the engine's to 1e-12. Each timing runs in a fresh
subprocess whose peak resident memory (ru_maxrss, worker processes included) is read back. Default
1,000,000 rows, 20,000 groups, 4 shards (a minute or two).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _data(rows: int, groups: int):
    from experiments.evaluation import Predictions, Truth

    rng = np.random.default_rng(3)
    g = rng.integers(0, groups, rows)
    y = (rng.random(rows) < 0.3).astype(int)
    truth = Truth.from_arrays(task="binary", y=y, groups=g)

    def model(signal: float, name: str):
        z = signal * (2 * y - 1) + rng.normal(size=rows) + rng.normal(size=groups)[g]
        return Predictions.from_arrays(truth=truth, scores=np.round(1 / (1 + np.exp(-z)), 6), name=name)

    return truth, model(1.2, "challenger"), model(1.0, "champion")


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and set(a) == set(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return isinstance(b, int | float) and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def _child(mode: str, rows: int, groups: int, shards: int, out: str) -> None:
    from experiments.evaluation import evaluate
    from experiments.evaluation.sharding import evaluate_sharded

    truth, challenger, champion = _data(rows, groups)
    args = {"task": "binary", "truth": truth, "predictions": challenger, "champion": champion}
    started = time.perf_counter()
    if mode == "engine":
        report = evaluate(**args)
    else:
        workers = int(mode.removeprefix("workers-")) if mode.startswith("workers-") else 0
        with tempfile.TemporaryDirectory() as directory:
            report = evaluate_sharded(**args, n_shards=shards, workers=workers, directory=directory)
    seconds = time.perf_counter() - started
    peak = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    )
    Path(out).write_text(json.dumps({"seconds": seconds, "peak_mb": peak / 1024, "report": report}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench sharding")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=20_000)
    parser.add_argument("--shards", type=int, default=4)
    options = parser.parse_args(argv or [])
    reference = None
    print(f"  {options.rows:,} rows, {options.groups:,} groups, paired binary, 1,000 resamples", flush=True)
    for mode in ("engine", "in-process", "workers-1", "workers-2"):
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            command = [sys.executable, "-m", "bench.bench_sharding", "child", mode]
            command += [str(options.rows), str(options.groups), str(options.shards), out.name]
            subprocess.run(command, cwd=ROOT, check=True)
            result = json.loads(Path(out.name).read_text())
        reference = reference or result["report"]
        same = "equal to the engine's (1e-12)" if _same(reference, result["report"]) else "DIFFERENT from the engine"
        print(f"    {mode:>11}: {result['seconds']:6.1f} s, peak RSS {result['peak_mb']:6.0f} MB, {same}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        _child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    else:
        main(sys.argv[1:])
