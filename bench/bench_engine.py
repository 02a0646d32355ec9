"""Evaluation engine benchmark: `make bench` (or `python -m bench engine`).

Generates synthetic CSVs under var/bench/ (deterministic), then times the full paired report —
CSV parsing included — each in a fresh subprocess whose peak resident memory (ru_maxrss) is read
back, so memory is measured honestly. For the binary cases it also times the naive way (scikit-learn
metrics with sample weights in a Poisson-bootstrap loop: a few resamples, extrapolated to 1,000).

    python -m bench engine                     # everything (a few minutes)
    python -m bench.bench_engine --quick       # 100k binary only
    python -m bench engine --compare           # 1M-row binary: this engine against the one before issue 15

``--compare [REV]`` extracts ``experiments/evaluation/`` as it was at ``REV`` (default ``BEFORE_ISSUE_15``,
the commit before the small-sample and rare-error rules landed) into a temporary folder with ``git archive``
and times the same 1M-row paired evaluations with both engines, each run in a fresh process, alternating
old and new so that load on a shared machine falls on both alike; it reports the medians and their ratio.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"
N_RESAMPLES = 1000
NAIVE_RESAMPLES = 3
REPEAT = 3
# The parent of 4544f7f ("Honest verdicts with few groups, rare errors and degenerate variance"), the first
# change to experiments/evaluation/ for issue 15.
BEFORE_ISSUE_15 = "4544f7f^"
COMPARE_REPEAT = 5


# --- synthetic data -------------------------------------------------------------------------------
def _write(path: Path, columns: dict) -> None:
    table = pa.table(columns)
    pcsv.write_csv(table, path, write_options=pcsv.WriteOptions(quoting_style="none"))


def make_binary(n: int, n_groups: int, seed: int = 7, *, with_groups: bool = True) -> tuple[Path, Path, Path]:
    """Rows of subjects (groups) with a subject effect per model; the challenger is a little better.

    ``with_groups=False`` leaves the group column out of the truth file (same scores).
    """
    folder = OUT / f"v1_binary_{n}_{n_groups}" / ("grouped" if with_groups else "ungrouped")
    paths = folder / "truth.csv", folder / "challenger.csv", folder / "champion.csv"
    if all(p.exists() for p in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids = np.char.add("row", np.arange(n).astype(str))
    group = rng.integers(0, n_groups, n)
    y = (rng.random(n) < 0.3).astype(np.int8)
    subject = rng.normal(0, 0.5, n_groups)
    truth = {"id": ids, "label": y}
    if with_groups:
        truth["group"] = np.char.add("subject", group.astype(str))
    _write(paths[0], truth)
    for path, strength in ((paths[1], 1.25), (paths[2], 1.2)):
        logit = strength * (2 * y - 1) + subject[group] + rng.normal(0, 0.3, n_groups)[group] + rng.normal(0, 1, n)
        order = rng.permutation(n)  # prediction files in their own order: the ids must be matched
        _write(path, {"id": ids[order], "score": (1 / (1 + np.exp(-logit)))[order]})
    return paths


def make_multiclass(n: int, n_classes: int = 10, seed: int = 8) -> tuple[Path, Path, Path]:
    folder = OUT / f"v1_multiclass_{n}_{n_classes}"
    paths = folder / "truth.csv", folder / "challenger.csv", folder / "champion.csv"
    if all(p.exists() for p in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids = np.char.add("row", np.arange(n).astype(str))
    names = np.array([f"class{k}" for k in range(n_classes)])
    y = rng.integers(0, n_classes, n)
    _write(paths[0], {"id": ids, "label": names[y]})
    for path, strength in ((paths[1], 1.6), (paths[2], 1.5)):
        logits = rng.normal(0, 1, (n, n_classes))
        logits[np.arange(n), y] += strength
        proba = np.exp(logits - logits.max(axis=1, keepdims=True))
        proba /= proba.sum(axis=1, keepdims=True)
        columns = {"id": ids, "label": names[proba.argmax(axis=1)]}
        columns.update({f"p_{name}": proba[:, k] for k, name in enumerate(names)})
        _write(path, columns)
    return paths


def make_regression(n: int, seed: int = 9) -> tuple[Path, Path, Path]:
    folder = OUT / f"v1_regression_{n}"
    paths = folder / "truth.csv", folder / "challenger.csv", folder / "champion.csv"
    if all(p.exists() for p in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids = np.char.add("row", np.arange(n).astype(str))
    y = rng.normal(50, 10, n)
    _write(paths[0], {"id": ids, "label": y})
    for path, noise in ((paths[1], 2.9), (paths[2], 3.0)):
        _write(path, {"id": ids, "prediction": y + rng.normal(0, noise, n)})
    return paths


# --- the measured run, in a child process ---------------------------------------------------------------
def _child(task: str, truth: str, challenger: str, champion: str) -> None:
    from experiments.evaluation import evaluate

    started = time.perf_counter()
    cpu_started = time.process_time()
    report = evaluate(
        task=task, truth=truth, predictions=challenger, champion=champion, seed=0, n_resamples=N_RESAMPLES
    )
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_mib": peak_kib / 1024, "comparison": report["comparison"]}))


def _run_child(task: str, paths: tuple[Path, Path, Path], engine_root: Path | None = None) -> dict:
    """One measured evaluation in a fresh process; ``engine_root`` holds another ``experiments`` package."""
    search = [str(engine_root)] if engine_root is not None else []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([*search, str(ROOT)]))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_engine", "--child", task, *map(str, paths)],
        cwd=engine_root or ROOT,  # -m puts the working folder first on the path
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    run = json.loads(done.stdout.strip().splitlines()[-1])
    run["process_wall"] = time.perf_counter() - started
    return run


def measure(task: str, paths: tuple[Path, Path, Path], repeat: int = REPEAT) -> dict:
    """The fastest of ``repeat`` fresh processes (other work on a shared machine only ever adds time), with the
    median for context and the largest peak memory of all."""
    runs = [_run_child(task, paths) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["wall"])
    return best | {
        "median_wall": float(np.median([r["wall"] for r in runs])),
        "peak_mib": max(r["peak_mib"] for r in runs),
        "repeat": repeat,
    }


# --- against the engine before issue 15 ------------------------------------------------------------------------
def extract_engine(rev: str, into: Path) -> Path:
    """``experiments/evaluation/`` as it was at ``rev``, under ``into/experiments`` (an empty package around it)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev, "experiments/evaluation"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    (into / "experiments" / "__init__.py").write_text("")
    return into


def compare(rev: str, repeat: int = COMPARE_REPEAT) -> None:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    cases = [
        ("binary 1,000,000 rows, 10,000 groups", make_binary(1_000_000, 10_000)),
        ("binary 1,000,000 rows, no group column", make_binary(1_000_000, 10_000, with_groups=False)),
    ]
    print(f"  before: experiments/evaluation at {rev} ({commit}); after: this tree; {repeat} runs each, alternating")
    with tempfile.TemporaryDirectory(prefix="engine-before-") as folder:
        old_root = extract_engine(rev, Path(folder))
        for label, paths in cases:
            runs: dict[str, list[dict]] = {"before": [], "after": []}
            for _ in range(repeat):
                runs["before"].append(_run_child("binary", paths, old_root))
                runs["after"].append(_run_child("binary", paths))
            print(f"  {label}", flush=True)
            # Wall time is what users wait; CPU time (all threads of the process) is less sensitive to other load.
            for what in ("wall", "cpu"):
                before, after = (float(np.median([r[what] for r in runs[k]])) for k in ("before", "after"))
                each = {k: " ".join(f"{r[what]:.2f}" for r in v) for k, v in runs.items()}
                print(
                    f"    {what:<4} median before {before:6.2f} s, after {after:6.2f} s: "
                    f"{100 * (after / before - 1):+6.1f}%  (before: {each['before']}; after: {each['after']})",
                    flush=True,
                )


# --- the naive way ------------------------------------------------------------------------------------------
def naive_binary(paths: tuple[Path, Path, Path], resamples: int = NAIVE_RESAMPLES) -> float:
    """Seconds for 1,000 paired resamples of the binary report with scikit-learn, extrapolated from a few."""
    from sklearn.metrics import accuracy_score, brier_score_loss, f1_score, log_loss, roc_auc_score, roc_curve

    from experiments.evaluation import read_predictions, read_truth

    truth = read_truth(paths[0], task="binary")
    models = [read_predictions(p, truth=truth).scores for p in paths[1:]]
    y = truth.y
    rng = np.random.default_rng(0)

    def report(scores: np.ndarray, weight: np.ndarray) -> list[float]:
        far, tpr, _ = roc_curve(y, scores, sample_weight=weight)
        frr = 1 - tpr
        j = int(np.argmax(far - frr >= 0))
        eer = (far[j] + frr[j]) / 2
        decision = scores >= 0.5
        return [
            roc_auc_score(y, scores, sample_weight=weight),
            eer,
            frr[np.searchsorted(far, 1e-2, side="right") - 1],
            frr[np.searchsorted(far, 1e-3, side="right") - 1],
            accuracy_score(y, decision, sample_weight=weight),
            f1_score(y, decision, sample_weight=weight),
            brier_score_loss(y, scores, sample_weight=weight),
            log_loss(y, scores, sample_weight=weight),
        ]

    started = time.perf_counter()
    for _ in range(resamples):
        weight = rng.poisson(1.0, truth.n_groups)[truth.groups].astype(np.float64)
        for scores in models:
            report(scores, weight)
    return (time.perf_counter() - started) / resamples * N_RESAMPLES


# --- main ---------------------------------------------------------------------------------------------------
def _load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _line(label: str, result: dict, naive: float | None = None) -> str:
    c = result["comparison"]
    text = (
        f"  {label:<40} {result['wall']:5.2f} s wall (median of {result['repeat']}: {result['median_wall']:5.2f} s; "
        f"CPU {result['cpu']:5.2f} s; whole process {result['process_wall']:5.2f} s), "
        f"peak {result['peak_mib']:5.0f} MiB\n  {'':<40} {c['primary']} Δ {c['delta']:+.4f} "
        f"[{c['ci_low']:+.4f}, {c['ci_high']:+.4f}] {c['verdict']}"
    )
    if naive is not None:
        text += f"; naive scikit-learn loop ≈ {naive:.0f} s → {naive / result['wall']:.0f}× slower"
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_engine")
    parser.add_argument("--quick", action="store_true", help="only the 100k-row binary case")
    parser.add_argument("--child", nargs=4, metavar=("TASK", "TRUTH", "CHALLENGER", "CHAMPION"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--compare",
        nargs="?",
        const=BEFORE_ISSUE_15,
        metavar="REV",
        help=f"time the 1M-row binary evaluations against the engine at REV (default {BEFORE_ISSUE_15})",
    )
    parser.add_argument("--repeat", type=int, default=COMPARE_REPEAT, help="runs per engine with --compare")
    args = parser.parse_args(sys.argv[1:] if argv is None and __name__ == "__main__" else argv or [])
    if args.child:
        _child(*args.child)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    print(
        f"evaluation engine: paired reports with {N_RESAMPLES} resamples, CSV parsing included; "
        f"{os.cpu_count()} CPUs, load average {_load_average()}",
        flush=True,
    )
    if args.compare:
        compare(args.compare, args.repeat)
        print(f"  load average after: {_load_average()}", flush=True)
        return
    cases = (
        [("binary", 100_000, 10_000)] if args.quick else [("binary", 100_000, 10_000), ("binary", 1_000_000, 10_000)]
    )
    for task, n, groups in cases:
        started = time.perf_counter()
        paths = make_binary(n, groups)
        print(f"  (data for {n:,} rows ready in {time.perf_counter() - started:.1f} s)", flush=True)
        result = measure(task, paths)
        naive = naive_binary(paths)
        print(_line(f"binary {n:,} rows, {groups:,} groups", result, naive), flush=True)
    if not args.quick:
        result = measure("binary", make_binary(1_000_000, 10_000, with_groups=False))
        print(_line("binary 1,000,000 rows, no group column", result), flush=True)
        result = measure("multiclass", make_multiclass(1_000_000))
        print(_line("multiclass 1,000,000 rows, 10 classes", result), flush=True)
        result = measure("regression", make_regression(1_000_000))
        print(_line("regression 1,000,000 rows", result), flush=True)
    print(f"  load average after: {_load_average()}", flush=True)


if __name__ == "__main__":
    main()
