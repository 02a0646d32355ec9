"""Bounded-memory evaluation from Parquet: `python -m bench memory [--rows N] [--groups G] [--memory-mb M]`.

Writes a paired binary data set as Parquet (truth ``id,label,group``; two prediction files in shuffled
order), then, each step in a fresh subprocess whose peak resident memory is read back (``ru_maxrss`` of
the process and of its worker processes, separately):

1. ``upload``: the upload's check of the truth and its columnar copy (``checking.check_truth``);
2. ``prepare``: the truth prepared and both prediction files aligned to it (``stored``);
3. ``1 worker`` / ``2 workers``: ``sharding.evaluate_stored`` with shards sized to ``--memory-mb``, run by
   a pool of that many worker processes (the coordinator waits, as a Celery coordinator does);
4. ``engine``: today's single-process engine on the first ``--engine-rows`` rows (default 1M), for its
   time per million rows, and the stored evaluation of the same rows, which must equal it to 1e-12.

Default 20,000,000 rows, 200,000 groups, 1,000 resamples, ``--memory-mb 1500`` (about 15 minutes);
``--rows 3000000 --groups 30000 --memory-mb 200`` is the small version.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _write(folder: Path, rows: int, groups: int) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    g = rng.integers(0, groups, rows)
    y = (rng.random(rows) < 0.3).astype(np.int8)
    ids = pc.binary_join_element_wise("r", pc.cast(pa.array(np.arange(rows)), pa.string()), "")
    group_names = pc.binary_join_element_wise("g", pc.cast(pa.array(g), pa.string()), "")
    label = pc.cast(pa.array(y), pa.string())
    pq.write_table(pa.table({"id": ids, "label": label, "group": group_names}), folder / "truth.parquet")
    effects = rng.normal(size=groups)
    for name, signal in (("challenger", 1.2), ("champion", 1.0)):
        z = signal * (2 * y - 1) + rng.normal(size=rows) + effects[g]
        scores = np.round(1 / (1 + np.exp(-z)), 6)
        order = pa.array(rng.permutation(rows))
        pq.write_table(
            pa.table({"id": ids.take(order), "score": pa.array(scores).take(order)}), folder / f"{name}.parquet"
        )


def _peaks() -> dict:
    """This process's peak resident memory since it started (``VmHWM``: ``ru_maxrss`` would carry over the
    forking parent's), and the largest of its worker processes'."""
    status = Path("/proc/self/status").read_text()
    hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return {
        "process_mb": hwm / 1024,
        "workers_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def _child(step: str, folder: str, memory_mb: int, engine_rows: int, out: str) -> None:
    from experiments.evaluation import evaluate, stored
    from experiments.evaluation.checking import check_truth
    from experiments.evaluation.sharding import evaluate_stored

    folder = Path(folder)
    started = time.perf_counter()
    result: dict = {}
    if step == "write":
        _write(folder, memory_mb, engine_rows)  # rows, groups
    elif step == "upload":
        check_truth(folder / "truth.parquet", task="binary", columns=folder / "truth.columns.parquet")
    else:
        truth = stored.prepare_truth(
            folder / "truth.columns.parquet", task="binary", name="truth.parquet", folder=folder / "truth.prepared"
        )
        models = {
            who: stored.align_predictions(folder / f"{who}.parquet", truth=truth, folder=folder / f"{who}.aligned")
            for who in ("challenger", "champion")
        }
        if step.startswith("workers-"):
            started = time.perf_counter()
            with tempfile.TemporaryDirectory(dir=folder) as directory:
                result["report"] = evaluate_stored(
                    truth=truth,
                    predictions=models["challenger"],
                    champion=models["champion"],
                    memory_mb=memory_mb,
                    workers=int(step.removeprefix("workers-")),
                    directory=directory,
                )
            result["shards"] = -(-truth.n_rows // stored.shard_rows(memory_mb))
        elif step == "engine":
            result.update(_engine_side_by_side(folder, engine_rows, memory_mb, evaluate, evaluate_stored, stored))
    result.update(seconds=time.perf_counter() - started, **_peaks())
    if out != "-":
        Path(out).write_text(json.dumps(result))


def _engine_side_by_side(folder: Path, rows: int, memory_mb: int, evaluate, evaluate_stored, stored) -> dict:
    """Today's engine on the first ``rows`` rows (read from Parquet), and the stored path on the same rows."""
    import pyarrow.parquet as pq

    small = folder / f"first-{rows}"
    small.mkdir(exist_ok=True)
    truth = pq.read_table(folder / "truth.parquet").slice(0, rows)
    pq.write_table(truth, small / "truth.parquet")
    wanted = truth.column("id")
    for who in ("challenger", "champion"):
        import pyarrow.compute as pc

        table = pq.read_table(folder / f"{who}.parquet")
        pq.write_table(table.filter(pc.is_in(table.column("id"), value_set=wanted)), small / f"{who}.parquet")
    del truth, wanted
    args = {"task": "binary", "truth": small / "truth.parquet", "predictions": small / "challenger.parquet"}
    started = time.perf_counter()
    whole = evaluate(**args, champion=small / "champion.parquet")
    seconds = time.perf_counter() - started
    from experiments.evaluation.checking import check_truth

    check_truth(small / "truth.parquet", task="binary", columns=small / "truth.columns.parquet")
    truth_on_disk = stored.prepare_truth(
        small / "truth.columns.parquet", task="binary", name="truth.parquet", folder=small / "truth.prepared"
    )
    models = {
        who: stored.align_predictions(small / f"{who}.parquet", truth=truth_on_disk, folder=small / f"{who}.aligned")
        for who in ("challenger", "champion")
    }
    with tempfile.TemporaryDirectory(dir=small) as directory:
        started = time.perf_counter()
        bounded = evaluate_stored(
            truth=truth_on_disk,
            predictions=models["challenger"],
            champion=models["champion"],
            memory_mb=memory_mb,
            rows_per_shard=max(1, rows // 4),
            directory=directory,
        )
        stored_seconds = time.perf_counter() - started
    from bench.bench_sharding import _same

    return {"engine_seconds": seconds, "stored_seconds": stored_seconds, "same": _same(whole, bounded)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench memory")
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--groups", type=int, default=200_000)
    parser.add_argument("--memory-mb", type=int, default=1500)
    parser.add_argument("--engine-rows", type=int, default=1_000_000)
    parser.add_argument("--folder", help="keep the data here (reused when present)")
    parser.add_argument(
        "--steps", default="upload,prepare,workers-1,workers-2,engine", help="comma-separated steps to run"
    )
    options = parser.parse_args(argv or [])
    print(
        f"  {options.rows:,} rows, {options.groups:,} groups, paired binary, 1,000 resamples, "
        f"EVALUATION_MEMORY_MB={options.memory_mb}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(options.folder or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / "truth.parquet").exists():
            started = time.perf_counter()
            command = [sys.executable, "-m", "bench.bench_memory", "child", "write", str(folder)]
            subprocess.run([*command, str(options.rows), str(options.groups), "-"], cwd=ROOT, check=True)
            print(f"    data written in {time.perf_counter() - started:.0f} s", flush=True)
        reports, times = {}, {}
        steps = options.steps.split(",")
        for step in steps:
            with tempfile.NamedTemporaryFile(suffix=".json") as out:
                command = [sys.executable, "-m", "bench.bench_memory", "child", step, str(folder)]
                command += [str(options.memory_mb), str(options.engine_rows), out.name]
                subprocess.run(command, cwd=ROOT, check=True)
                result = json.loads(Path(out.name).read_text())
            times[step] = result["seconds"]
            line = f"    {step:>9}: {result['seconds']:7.1f} s, peak RSS {result['process_mb']:6.0f} MB"
            if step.startswith("workers-"):
                reports[step] = result["report"]
                line += f" (coordinator), {result['workers_mb']:6.0f} MB (largest worker), {result['shards']} shards"
            if step == "engine":
                per_million = result["engine_seconds"] / options.engine_rows * 1e6
                line = (
                    f"    engine on {options.engine_rows:,} rows: {result['engine_seconds']:.1f} s "
                    f"({per_million:.1f} s per million rows); stored on the same rows "
                    f"{result['stored_seconds']:.1f} s, {'equal' if result['same'] else 'DIFFERENT'} (1e-12)"
                )
                times["engine_per_million"] = per_million
            print(line, flush=True)
        from bench.bench_sharding import _same

        bound = options.memory_mb + 300
        print(f"    every process within EVALUATION_MEMORY_MB + 300 = {bound} MB: see the peaks above")
        if "workers-1" in times and "workers-2" in times:
            print(f"    2 workers / 1 worker: {times['workers-2'] / times['workers-1']:.2f} (target ≤ 0.65)")
            print(f"    1 and 2 workers agree (1e-12): {_same(reports['workers-1'], reports['workers-2'])}")
        if "workers-1" in times and "engine_per_million" in times:
            per_million = times["workers-1"] / options.rows * 1e6
            print(
                f"    1 worker: {per_million:.1f} s per million rows, "
                f"{per_million / times['engine_per_million']:.2f}× the engine's (target ≤ 1.3)"
            )


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        _child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    else:
        main(sys.argv[1:])
