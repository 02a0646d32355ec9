"""The evaluation engine split into shards of rows whose partial results combine exactly.

``evaluate_sharded`` gives the report of ``engine.evaluate`` — the same numbers to rounding (≤ 1e-12),
including every bootstrap resample — from shards of consecutive rows that never see each other's rows.
Each shard reduces its rows to sufficient statistics of fixed size (sums, per-group totals, per-unit
tables); the combining step adds them up and runs the engine's own interval code on the sums.

The algorithm, in two passes over the rows:

1. **Scan** (``scan``, one per shard): the row count, the sum of every per-row quantity whose mean is
   reported (per-row absolute error, correctness, loss, and their challenger − champion differences),
   the label sum (regression), and each group's smallest row id. ``plan`` combines the scans: global
   means, and the canonical group order (groups sorted by their smallest row id, as the engine orders
   them), which fixes every group's code and so its resampling unit.
2. **Reduce** (``reduce``, one per shard, given the plan): for each mean-type quantity, the sum of
   squared deviations from the global mean (without groups) or its per-group totals and group sizes
   (with groups); per-unit totals for the regression bootstrap (rows, y − ȳ, (y − ȳ)², squared errors
   per model, with ȳ the global mean from the scan); the joint (truth, challenger, champion) contingency
   table, per resampling unit when grouped.
3. **Combine** (``combine``): sums the reductions and calls the engine's functions of sums
   (``intervals.*_of``, ``engine._regression_resampled``, ``engine._multiclass_resampled``).

Why the bootstrap agrees exactly. The engine's Poisson weights are drawn per *resampling unit* (at most
``resampling.MAX_UNITS``) from one seeded stream, never per row: every shard's contribution is a table
of per-unit totals, and the combining step multiplies the summed table by the very weights the
single-process engine draws. What a shard must reproduce is only each row's unit, and that depends on the
seed, the row (or group) count and the row's index (or canonical group code) alone
(``Resampler.units_of``). So the weight scheme of the engine is unchanged, and results equal today's
engine, bootstrap included; no per-(group, resample) counter-based scheme was needed. Counts are exact
integers; float sums differ from the single process only by the order of addition.

Scope: regression and multiclass. Binary evaluations (whose rank statistics need a partition of the
rows by score rather than by row) are refused with ``NotImplementedError``; ``engine.evaluate`` runs them.
The shards here slice in-memory ``Truth`` / ``Predictions``: they bound the work per shard, and the
reduction is what a worker reading only its rows would return.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from experiments.evaluation import engine
from experiments.evaluation import intervals as iv
from experiments.evaluation import metrics as mt
from experiments.evaluation.reading import Predictions, Truth
from experiments.evaluation.resampling import Resampler

SHARDED_TASKS = ("multiclass", "regression")


def row_ranges(n_rows: int, n_shards: int) -> list[tuple[int, int]]:
    """``n_shards`` consecutive, nearly equal row ranges (fewer when there are fewer rows)."""
    n_shards = max(1, min(int(n_shards), n_rows))
    cuts = np.linspace(0, n_rows, n_shards + 1).round().astype(np.int64)
    return [(int(a), int(b)) for a, b in itertools.pairwise(cuts) if b > a]


# --- one shard's rows ------------------------------------------------------------------------------
@dataclass
class Rows:
    """Rows ``start:stop`` of the truth and of each model's predictions, with their per-row quantities."""

    task: str
    start: int
    stop: int
    y: np.ndarray
    groups: np.ndarray | None  # the reader's group codes (any consistent coding)
    ids: pa.Array | None
    n_classes: int
    models: dict[str, dict[str, np.ndarray | None]] = field(default_factory=dict)

    @classmethod
    def of(cls, truth: Truth, models: dict[str, Predictions], start: int, stop: int) -> Rows:
        part = slice(start, stop)
        ids = truth.ids.slice(start, stop - start) if truth.groups is not None else None
        sliced = {
            who: {
                "present": p.present[part],
                "labels": None if p.labels is None else p.labels[part],
                "proba": None if p.proba is None else p.proba[part],
                "values": None if p.values is None else p.values[part],
            }
            for who, p in models.items()
        }
        groups = None if truth.groups is None else truth.groups[part]
        return cls(truth.task, start, stop, truth.y[part], groups, ids, len(truth.classes), sliced)

    def columns(self) -> dict[str, np.ndarray]:
        """The per-row quantities whose means (and their paired differences) the report gives."""
        names = list(self.models)
        out: dict[str, np.ndarray] = {}
        if self.task == "regression":
            for who in names:
                out[f"mae:{who}"] = np.abs(self.models[who]["values"] - self.y)
            stems = ["mae"]
        else:
            for who in names:
                out[f"correct:{who}"] = self.correct(who).astype(np.float64)
                if self.models[who]["proba"] is not None:
                    out[f"log_loss:{who}"] = mt.multiclass_log_losses(self.y, self.models[who]["proba"])
            stems = ["correct", "log_loss"]
        if len(names) == 2:
            for stem in stems:
                a, b = (f"{stem}:{who}" for who in names)
                if a in out and b in out:
                    out[f"{stem}:diff"] = out[a] - out[b]
        return out

    def predicted(self, who: str) -> np.ndarray:
        m = self.models[who]
        return np.where(m["present"], m["labels"], self.n_classes).astype(np.int64)

    def correct(self, who: str) -> np.ndarray:
        return self.predicted(who) == self.y


Source = Callable[[int, int], Rows]


def in_memory(truth: Truth, models: dict[str, Predictions]) -> Source:
    return lambda start, stop: Rows.of(truth, models, start, stop)


# --- pass 1: scan ------------------------------------------------------------------------------------
def scan(rows: Rows) -> dict:
    """Counts and sums of one shard, and each of its groups' smallest row id."""
    out: dict = {
        "n": rows.stop - rows.start,
        "sums": {name: float(x.sum()) for name, x in rows.columns().items()},
    }
    if rows.task == "regression":
        out["sum_y"] = float(rows.y.sum())
    if rows.groups is not None:
        table = pa.table({"g": pa.array(rows.groups), "id": rows.ids})
        smallest = table.group_by("g").aggregate([("id", "min")])
        out["group_min"] = (smallest.column("g").to_numpy(), smallest.column("id_min").combine_chunks())
    return out


@dataclass
class Plan:
    """What every shard needs from the scans: global means and each group's canonical code."""

    task: str
    n_rows: int
    n_groups: int | None
    means: dict[str, float]
    mean_y: float | None
    canonical: np.ndarray | None  # reader's group code → canonical code
    seed: int
    n_resamples: int

    def resampler(self) -> Resampler:
        return Resampler(
            n_rows=self.n_rows,
            groups=None,
            n_groups=self.n_groups,
            n_resamples=self.n_resamples,
            seed=self.seed,
            grouped=self.n_groups is not None,
        )


def plan(task: str, scans: list[dict], *, n_groups: int | None, seed: int, n_resamples: int) -> Plan:
    n = sum(s["n"] for s in scans)
    means = {name: sum(s["sums"][name] for s in scans) / n for name in scans[0]["sums"]}
    mean_y = sum(s["sum_y"] for s in scans) / n if task == "regression" else None
    canonical = None
    if n_groups is not None:
        codes = np.concatenate([s["group_min"][0] for s in scans])
        ids = pa.concat_arrays([s["group_min"][1] for s in scans])
        smallest = pa.table({"g": codes, "id": ids}).group_by("g").aggregate([("id", "min")])
        order = pc.sort_indices(smallest, sort_keys=[("id_min", "ascending")]).to_numpy()
        canonical = np.empty(n_groups, dtype=np.int64)
        canonical[smallest.column("g").to_numpy()[order]] = np.arange(len(order))
    return Plan(task, n, n_groups, means, mean_y, canonical, seed, n_resamples)


# --- pass 2: reduce ---------------------------------------------------------------------------------------
def reduce(rows: Rows, plan: Plan) -> dict:
    """One shard's sufficient statistics, given the plan."""
    resampler = plan.resampler()
    codes = None if rows.groups is None else plan.canonical[rows.groups]
    unit = resampler.units_of(rows.start, rows.stop, codes)
    out: dict = {"n": rows.stop - rows.start}
    columns = rows.columns()
    if codes is None:
        out["squares"] = {name: float(np.sum((x - plan.means[name]) ** 2)) for name, x in columns.items()}
    else:
        out["group_sizes"] = np.bincount(codes, minlength=plan.n_groups).astype(np.float64)
        out["group_totals"] = {
            name: np.bincount(codes, weights=x, minlength=plan.n_groups) for name, x in columns.items()
        }
    names = list(rows.models)
    if rows.task == "regression":
        errors = {who: rows.models[who]["values"] - rows.y for who in names}
        centred = rows.y - plan.mean_y
        stacked = [np.ones_like(centred), centred, centred * centred] + [errors[who] ** 2 for who in names]
        out["unit_totals"] = np.stack(
            [np.bincount(unit, weights=col, minlength=resampler.n_units) for col in stacked], axis=1
        )
        out["sse"] = {who: float(errors[who] @ errors[who]) for who in names}
        out["centred_squares"] = float(centred @ centred)
    else:
        k = rows.n_classes
        cells = rows.y.astype(np.int64)
        for who in names:
            cells = cells * (k + 1) + rows.predicted(who)
        n_cells = k * (k + 1) ** len(names)
        out["counts"] = np.bincount(cells, minlength=n_cells)
        out["tables"] = resampler.cell_tables(unit if resampler.grouped else None, cells, n_cells)
        if len(names) == 2:
            first, second = (rows.correct(who) for who in names)
            out["both"] = int(np.count_nonzero(first & second))
            out["only_1"] = int(np.count_nonzero(first & ~second))
            out["only_2"] = int(np.count_nonzero(~first & second))
    return out


def _add(values: list):
    if isinstance(values[0], dict):
        return {key: _add([v[key] for v in values]) for key in values[0]}
    if isinstance(values[0], np.ndarray):
        total = values[0].copy()
        for v in values[1:]:
            total += v
        return total
    return sum(values)


# --- combine -------------------------------------------------------------------------------------------
class _Means:
    """``intervals.mean_and_se`` of each per-row quantity from the summed reductions."""

    def __init__(self, plan: Plan, total: dict) -> None:
        self.plan = plan
        self.total = total

    def __contains__(self, name: str) -> bool:
        return name in self.plan.means

    def __call__(self, name: str) -> tuple[float, float, int]:
        if self.plan.n_groups is not None:
            return iv.mean_and_se_of_totals(self.total["group_totals"][name], self.total["group_sizes"])
        n = self.plan.n_rows
        mean = self.plan.means[name]
        se = math.sqrt(self.total["squares"][name] / (1.0 - 1.0 / n)) / n if n > 1 else math.inf
        return float(mean), se, n - 1


def combine(
    plan: Plan,
    reductions: list[dict],
    truth: Truth,
    models: dict[str, Predictions],
    *,
    primary: str,
    progress: engine._Progress | None = None,
) -> dict:
    """The engine's report from the shards' reductions."""
    task = plan.task
    progress = progress or engine._Progress(None)
    total = _add(reductions)
    names = list(models)
    paired = len(names) == 2
    grouped = plan.n_groups is not None
    results = engine._Results(task, paired=paired, n_groups=plan.n_groups)
    resampler = plan.resampler()
    means = _Means(plan, total)
    robust = ", cluster-robust" if grouped else ""

    def mean_metric(metric: str, stem: str) -> None:
        for who in names:
            if f"{stem}:{who}" in means:
                results.from_interval(metric, who, iv.interval_of_mean(*means(f"{stem}:{who}"), "t interval" + robust))
        if paired and f"{stem}:diff" in means:
            diff = iv.paired_t_of(*means(f"{stem}:diff"), "paired t" + robust, grouped=grouped)
            results.difference(metric, diff)

    if task == "regression":
        mean_metric("mae", "mae")
        progress("metrics", 0.4)
        with engine._one_blas_thread():
            engine._regression_resampled(
                results,
                names,
                total["unit_totals"],
                total["sse"],
                total["centred_squares"],
                plan.n_rows,
                resampler=resampler,
                progress=progress,
            )
    else:
        for who in names:
            mean, se, _ = means(f"correct:{who}")
            results.from_interval(
                "accuracy", who, iv.proportion_interval_of(mean, plan.n_rows, se if grouped else None)
            )
        if paired:
            if grouped:
                results.difference("accuracy", iv.paired_proportions_clustered(*means("correct:diff")))
            else:
                neither = plan.n_rows - total["both"] - total["only_1"] - total["only_2"]
                results.difference(
                    "accuracy", iv.paired_counts(total["both"], total["only_1"], total["only_2"], neither)
                )
        mean_metric("log_loss", "log_loss")
        progress("metrics", 0.4)
        with engine._one_blas_thread():
            engine._multiclass_resampled(
                results,
                names,
                len(truth.classes),
                total["counts"],
                total["tables"],
                resampler=resampler,
                progress=progress,
            )
    progress("done", 1.0)
    return engine._report(task, primary, 0.5, plan.seed, truth, models, results, resampler, {})


def evaluate_sharded(
    *,
    task: str,
    truth: Truth,
    predictions: Predictions,
    champion: Predictions | None = None,
    primary: str | None = None,
    threshold: float = 0.5,
    seed: int = 0,
    n_resamples: int = 1000,
    n_shards: int = 2,
    progress=None,
) -> dict:
    """``engine.evaluate`` computed shard by shard (in this process): the same report to ≤ 1e-12."""
    if task not in SHARDED_TASKS:
        raise NotImplementedError(f"sharded evaluation of {task} tasks is not available yet")
    report = engine._Progress(progress)
    primary, truth, models = engine._prepare(
        task, truth, predictions, champion, primary, threshold, n_resamples, report
    )
    source = in_memory(truth, models)
    ranges = row_ranges(truth.n_rows, n_shards)
    scans = [scan(source(a, b)) for a, b in ranges]
    the_plan = plan(task, scans, n_groups=truth.n_groups, seed=seed, n_resamples=n_resamples)
    reductions = [reduce(source(a, b), the_plan) for a, b in ranges]
    return combine(the_plan, reductions, truth, models, primary=primary, progress=report)
