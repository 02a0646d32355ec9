"""An evaluation several times larger than ``EVALUATION_MEMORY_MB`` stays within it (+ the process's own).

3,000,000 rows of a paired binary evaluation with groups would take the single-process engine about
1.6 GB; with a 200 MB budget every step — the upload's check, the preparation, and the evaluation in
shards, here in the one process, as a lone worker runs them — is run in a fresh process whose peak
resident memory (``VmHWM``) must stay under 200 + 300 MB.

Scores have 4 decimals: what the combining step holds grows with each model's distinct scores (about
100 bytes each while the curves are built; the documented limit of ``sharding``), not with the rows, and
this test pins the bound on rows.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from experiments.evaluation import stored

ROWS, GROUPS, BUDGET_MB = 3_000_000, 30_000, 200
ROOT = Path(__file__).resolve().parents[3]

STEP = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from experiments.evaluation import stored
    from experiments.evaluation.checking import check_truth
    from experiments.evaluation.sharding import evaluate_stored

    step, folder, budget = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    out = {}
    if step == "upload":
        check_truth(folder / "truth.parquet", task="binary", columns=folder / "truth.columns.parquet")
    else:
        truth = stored.prepare_truth(
            folder / "truth.columns.parquet", task="binary", name="truth.parquet", folder=folder / "truth.prepared"
        )
        models = {
            who: stored.align_predictions(folder / f"{who}.parquet", truth=truth, folder=folder / f"{who}.aligned")
            for who in ("challenger", "champion")
        }
        if step == "evaluate":
            report = evaluate_stored(
                truth=truth, predictions=models["challenger"], champion=models["champion"], n_resamples=200,
                memory_mb=budget, directory=str(folder / "placements"),
            )
            out["verdict"] = report["comparison"]["verdict"]
            out["n_rows"] = report["n_rows"]
    status = Path("/proc/self/status").read_text()
    out["peak_mb"] = next(int(l.split()[1]) for l in status.splitlines() if l.startswith("VmHWM:")) / 1024
    print(json.dumps(out))
    """
)


def _write(folder: Path) -> None:
    rng = np.random.default_rng(5)
    g = rng.integers(0, GROUPS, ROWS)
    y = (rng.random(ROWS) < 0.3).astype(np.int8)
    ids = pc.binary_join_element_wise("r", pc.cast(pa.array(np.arange(ROWS)), pa.string()), "")
    groups = pc.binary_join_element_wise("g", pc.cast(pa.array(g), pa.string()), "")
    truth = pa.table({"id": ids, "label": pc.cast(pa.array(y), pa.string()), "group": groups})
    pq.write_table(truth, folder / "truth.parquet")
    effects = rng.normal(size=GROUPS)
    for name, signal in (("challenger", 1.3), ("champion", 1.0)):
        scores = np.round(1 / (1 + np.exp(-(signal * (2 * y - 1) + rng.normal(size=ROWS) + effects[g]))), 4)
        order = pa.array(rng.permutation(ROWS))
        table = pa.table({"id": ids.take(order), "score": pa.array(scores).take(order)})
        pq.write_table(table, folder / f"{name}.parquet")


def _step(step: str, folder: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", STEP, step, str(folder), str(BUDGET_MB)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_3m_row_evaluation_stays_within_a_200_mb_budget(tmp_path):
    assert not stored.fits(ROWS, BUDGET_MB * 8)  # the engine would need over 8 times the budget
    assert 5 * stored.shard_rows(BUDGET_MB) <= ROWS  # and the shards hold a fraction of the rows each
    _write(tmp_path)
    for step in ("upload", "prepare", "evaluate"):
        result = _step(step, tmp_path)
        assert result["peak_mb"] <= BUDGET_MB + 300, (step, result)
    assert result == {"verdict": "better", "n_rows": ROWS, "peak_mb": result["peak_mb"]}
