"""The evaluation engine split into shards whose partial results combine exactly.

``evaluate_sharded`` gives the report of ``engine.evaluate`` — the same numbers to rounding (≤ 1e-12),
point metrics, DeLong placements, ROC/DET curves and every bootstrap resample — from shards that never
hold all the rows. Shards reduce their rows to sufficient statistics (sums, per-group totals, per-unit
tables, tie-run counts); the combining step adds them up and runs the engine's own interval code on them.

**Row shards** (consecutive rows, ``row_ranges``), in two passes:

1. ``scan``: the row count, the sum of every per-row quantity whose mean is reported (absolute error,
   correctness, losses, and their challenger − champion differences), the label sum (regression), the
   positives, each model's score range and an even sample of its scores (binary), and each group's
   smallest row id. ``plan`` combines the scans: global means, whether each model's scores are
   probabilities, the boundaries of the score ranges, and the canonical group order (groups sorted by
   smallest row id, as the engine orders them), which fixes each group's code and resampling unit.
2. ``reduce``: for each mean-type quantity, the squared deviations from the global mean (without groups)
   or per-group totals and sizes (with groups); per-unit totals for the regression bootstrap (rows,
   y − ȳ, (y − ȳ)², squared errors); the joint (truth, challenger, champion) contingency table, per unit
   when grouped; and for binary models the DeLong and EER-influence sums below.

**Score ranges** (binary; ``range_bounds``: each model's scores cut at quantiles of the scanned sample, a
range holding every score from its bound to the next, so tied scores never straddle two ranges):

- ``rank_range`` gathers one range's rows (``gather_range`` reads every row shard and keeps the range) and
  sorts them: its tie runs with their class counts, its per-unit class counts, and each row's placement
  half-count — the negatives (positives) scoring lower plus half the tied ones — within the range, which it
  writes by row index to a ``Store``. ``rank_plan`` concatenates the ranges' runs into the full ROC (FAR,
  FRR at every distinct score: the EER, FRR at FAR and the downsampled curves) and gives the row shards
  the class counts below each range, the EER crossing's threshold and density weight, and the mean
  placements (a centring shift).
- In ``reduce``, each row's DeLong placement is (count below its range + its half-count) / class size:
  whole and half numbers, so exactly the engine's value. A row shard sums the centred placements and their
  cross-products per class (DeLong's covariance, challenger and champion paired row by row) or per group
  (Obuchowski's), and counts rows by (class, accepted at the EER threshold per model): the EER's
  influence terms take those few values (per group totals with groups).
- The bootstrap of FRR at FAR (``crossings``, ``range_draws``): a resample's answer is read at the first
  distinct score, from the top, whose weighted FAR exceeds the target. The weighted class totals of each
  range (weights @ per-unit counts) give, per resample, the range holding that crossing and the weighted
  counts above it; that range alone then walks its rows (``RocBootstrap.statistics_after``). Weights and
  counts are whole numbers, so every sum is exact and the answer is the single-process one.

**Why the bootstrap agrees exactly.** The engine's Poisson weights are drawn per *resampling unit* (at most
``resampling.MAX_UNITS``) from one seeded stream, never per row; each shard contributes per-unit totals,
and the combining step multiplies them by the very weights the single-process engine draws (a score range
regenerates the same weights from the seed). A shard must only find each row's unit, and that depends on
the seed, the row (or group) count and the row's index (or canonical group code) alone
(``Resampler.units_of``). So the engine's weight scheme is unchanged and results equal today's engine,
bootstrap included: no counter-based per-(group, resample) scheme was needed, and the calibration is
untouched. Counts are exact; float sums differ from the single process only in the order of addition.
Where a branch hangs on a variance being exactly zero, a quantity constant over all rows gets exactly its
value as mean (so zero variance, as in the engine); a grouped quantity whose group totals only round to a
zero variance could in principle take the other branch (never seen in the tests).

**Running the shards.** Each pass is a batch of shard calls (``scan_shard``, ``rank_shard``,
``reduce_shard``, ``draws_shard``: top-level functions of picklable arguments) handed to a runner: in
this process (``run_here``), in a pool of worker processes (``process_runner``, ``workers=N``) or as
Celery tasks (``experiments.benchmarks.services.sharded``). A shard whose process dies is run again;
results are kept by shard position, and a score range redone writes the same placement files, so no
shard counts twice. The reductions are folded in shard order as they arrive (``_Folded``), so the
combining step never holds every shard's per-group totals at once, and the sums are the ones ``_add``
gives, bit for bit.

**Bounded memory** (``evaluate_stored``). The rows come from disk, a row range at a time (``stored``:
the truth's columns and each prediction file aligned to them), never whole; a shard's rows number at
most what ``EVALUATION_MEMORY_MB`` holds (``stored.shard_rows``), and so do a score range's (there are as
many ranges as row shards). The placement store is one file per (score range, row shard), so a row shard
reads only its own rows' placements. What the combining step holds grows with the groups (per-group
totals), the resampling units (at most ``resampling.MAX_UNITS``) and each model's distinct scores (its
full ROC, about 40 bytes per distinct score: scores rounded to 6 decimals keep it under 10⁶ entries),
not with the rows; ungrouped data also keep the row-unit permutation (8 bytes a row), as the engine does.
Each score range reads every row shard's scores (a few columns, from the page cache), so that pass costs
rows × ranges: fine up to some tens of ranges.

``evaluate_sharded`` slices inputs held in memory (``in_memory``), for tests and for data read already.
"""

from __future__ import annotations

import ctypes
import glob
import itertools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from experiments.evaluation import engine, stored, support
from experiments.evaluation import intervals as iv
from experiments.evaluation import metrics as mt
from experiments.evaluation.errors import EvaluationInputError
from experiments.evaluation.reading import Predictions, Truth
from experiments.evaluation.resampling import Resampler, RocBootstrap
from experiments.evaluation.roc import (
    FAR_TARGETS,
    downsample_curve,
    eer_from_points,
    frr_at_far_from_points,
    impute_worst,
    rank,
    roc_points,
)
from experiments.evaluation.stored import StoredInputs, StoredPredictions, StoredTruth

SHARDED_TASKS = ("binary", "multiclass", "regression")
# Scores each shard contributes to choosing the score ranges' boundaries.
SAMPLE_PER_SHARD = 2000


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
    threshold: float = 0.5

    @classmethod
    def of(cls, truth: Truth, models: dict[str, Predictions], start: int, stop: int, threshold: float = 0.5) -> Rows:
        part = slice(start, stop)
        ids = None
        if truth.groups is not None:
            ids = truth.ids
            if not isinstance(ids, pa.Array | pa.ChunkedArray):
                ids = pa.array(np.asarray(ids).astype(str))  # as ``engine.canonical_groups`` compares them
            ids = ids.slice(start, stop - start)
        sliced = {
            who: {
                "present": p.present[part],
                "labels": None if p.labels is None else p.labels[part],
                "proba": None if p.proba is None else p.proba[part],
                "values": None if p.values is None else p.values[part],
                "scores": None if p.scores is None else p.scores[part],
            }
            for who, p in models.items()
        }
        groups = None if truth.groups is None else truth.groups[part]
        return cls(truth.task, start, stop, truth.y[part], groups, ids, len(truth.classes), sliced, threshold)

    def columns(self) -> dict[str, np.ndarray]:
        """The per-row quantities whose means (and their paired differences) the report gives."""
        names = list(self.models)
        out: dict[str, np.ndarray] = {}
        if self.task == "regression":
            for who in names:
                out[f"mae:{who}"] = np.abs(self.models[who]["values"] - self.y)
            stems = ["mae"]
        elif self.task == "binary":
            for who in names:
                m = self.models[who]
                out[f"correct:{who}"] = self.correct(who).astype(np.float64)
                # Losses as the engine computes them; only used when the model's scores are probabilities.
                p = np.where(m["present"], m["scores"], 1.0 - self.y)
                with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                    out[f"brier_loss:{who}"] = mt.brier_losses(self.y, p)
                    out[f"log_loss:{who}"] = mt.binary_log_losses(self.y, p)
            stems = ["correct", "brier_loss", "log_loss"]
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

    def scores(self, who: str) -> np.ndarray:
        """Binary scores with missing rows at their worst rank (``roc.impute_worst``)."""
        m = self.models[who]
        return impute_worst(m["scores"], self.y, m["present"])

    def decision(self, who: str, threshold: float) -> np.ndarray:
        return self.scores(who) >= threshold

    def predicted(self, who: str) -> np.ndarray:
        m = self.models[who]
        return np.where(m["present"], m["labels"], self.n_classes).astype(np.int64)

    def correct(self, who: str) -> np.ndarray:
        if self.task == "binary":
            return self.decision(who, self.threshold) == (self.y == 1)
        return self.predicted(who) == self.y


Source = Callable[[int, int], Rows]


def in_memory(truth: Truth, models: dict[str, Predictions], threshold: float = 0.5) -> Source:
    """Rows sliced from inputs held in memory (a source also takes ``models=`` and ``ids=``: the columns a
    pass needs, which a source reading from disk honours)."""
    return lambda start, stop, **_: Rows.of(truth, models, start, stop, threshold)


# --- pass 1: scan ------------------------------------------------------------------------------------
def scan(rows: Rows) -> dict:
    """Counts and sums of one shard, and each of its groups' smallest row id."""
    out: dict = {
        "n": rows.stop - rows.start,
        "sums": {},
        "extremes": {},
    }
    for name, x in rows.columns().items():
        out["sums"][name] = float(x.sum())
        out["extremes"][name] = (float(x.min()), float(x.max())) if len(x) else (math.inf, -math.inf)
    if rows.task == "regression":
        out["sum_y"] = float(rows.y.sum())
    if rows.task == "binary":
        out["n_pos"] = int(np.count_nonzero(rows.y == 1))
        out["scores"] = {}
        for who, m in rows.models.items():
            covered = m["scores"][m["present"]]
            scores = rows.scores(who)
            # An even sample of the (imputed) scores, for the boundaries of the score ranges.
            sample = np.sort(scores)[:: max(1, len(scores) // SAMPLE_PER_SHARD)]
            out["scores"][who] = {
                "covered": int(covered.size),
                "min": float(covered.min()) if covered.size else math.inf,
                "max": float(covered.max()) if covered.size else -math.inf,
                "sample": sample,
            }
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
    threshold: float = 0.5
    n_pos: int = 0
    # Binary, per model: whether the scores are probabilities, and the score ranges' lower bounds.
    is_probability: dict[str, bool] = field(default_factory=dict)
    bounds: dict[str, np.ndarray] = field(default_factory=dict)
    # Binary, per model, from the range pass (``rank_plan``).
    ranks: dict[str, RankPlan] = field(default_factory=dict)

    def resampler(self) -> Resampler:
        """The evaluation's resampler (one per plan and process: it caches the row permutation)."""
        if "_resampler" not in self.__dict__:
            self.__dict__["_resampler"] = Resampler(
                n_rows=self.n_rows,
                groups=None,
                n_groups=self.n_groups,
                n_resamples=self.n_resamples,
                seed=self.seed,
                grouped=self.n_groups is not None,
            )
        return self.__dict__["_resampler"]

    def __getstate__(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if key != "_resampler"}


def plan(
    task: str,
    scans: list[dict],
    *,
    n_groups: int | None,
    seed: int,
    n_resamples: int,
    threshold: float = 0.5,
    n_ranges: int = 1,
) -> Plan:
    n = sum(s["n"] for s in scans)
    means = {}
    for name in scans[0]["sums"]:
        low = min(s["extremes"][name][0] for s in scans)
        high = max(s["extremes"][name][1] for s in scans)
        # A constant quantity has exactly its value as mean (and so no variance), whatever the rounding of sums.
        means[name] = low if low == high else sum(s["sums"][name] for s in scans) / n
    mean_y = sum(s["sum_y"] for s in scans) / n if task == "regression" else None
    canonical = None
    if n_groups is not None:
        codes = np.concatenate([s["group_min"][0] for s in scans])
        ids = pa.concat_arrays([s["group_min"][1] for s in scans])
        smallest = pa.table({"g": codes, "id": ids}).group_by("g").aggregate([("id", "min")])
        order = pc.sort_indices(smallest, sort_keys=[("id_min", "ascending")]).to_numpy()
        canonical = np.empty(n_groups, dtype=np.int64)
        canonical[smallest.column("g").to_numpy()[order]] = np.arange(len(order))
    out = Plan(task, n, n_groups, means, mean_y, canonical, seed, n_resamples, threshold)
    if task == "binary":
        out.n_pos = sum(s["n_pos"] for s in scans)
        for who in scans[0]["scores"]:
            parts = [s["scores"][who] for s in scans]
            covered = sum(p["covered"] for p in parts)
            low, high = min(p["min"] for p in parts), max(p["max"] for p in parts)
            out.is_probability[who] = bool(covered and low >= 0.0 and high <= 1.0)
            out.bounds[who] = range_bounds(np.concatenate([p["sample"] for p in parts]), n_ranges)
    return out


def range_bounds(sample: np.ndarray, n_ranges: int) -> np.ndarray:
    """Lower bounds of ``n_ranges`` score ranges of about equal size (the first is −inf): a range holds the
    scores from its bound up to the next one, so tied scores always share a range."""
    if n_ranges <= 1 or sample.size == 0:
        return np.array([-np.inf])
    finite = np.sort(sample)
    cuts = finite[np.linspace(0, len(finite) - 1, n_ranges + 1).round().astype(np.int64)[1:-1]]
    return np.unique(np.concatenate(([-np.inf], cuts)))


def range_of(scores: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Each score's range index (ranges ascending by score)."""
    return np.searchsorted(bounds, scores, side="right") - 1


# --- pass 2: reduce ---------------------------------------------------------------------------------------
def reduce(rows: Rows, plan: Plan, store: Store | None = None) -> dict:
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
    if rows.task == "binary":
        out.update(_reduce_binary(rows, plan, unit, codes, store))
    elif rows.task == "regression":
        errors = {who: rows.models[who]["values"] - rows.y for who in names}
        centred = rows.y - plan.mean_y
        stacked = [np.ones_like(centred), centred, centred * centred] + [errors[who] ** 2 for who in names]
        out["unit_totals"] = np.stack(
            [np.bincount(unit, weights=col, minlength=resampler.n_units) for col in stacked], axis=1
        )
        out["sse"] = {who: float(errors[who] @ errors[who]) for who in names}
        out["centred_squares"] = float(centred @ centred)
    elif rows.task == "multiclass":
        k = rows.n_classes
        cells = rows.y.astype(np.int64)
        for who in names:
            cells = cells * (k + 1) + rows.predicted(who)
        n_cells = k * (k + 1) ** len(names)
        out.update(_cell_sums(rows, names, resampler, unit, cells, n_cells))
    return out


# --- binary: rank statistics over score ranges --------------------------------------------------------
class Store:
    """Per-row half-counts of each model's placements, written by the score ranges, read by the row shards.

    In memory, or with ``directory`` as files there that worker processes share: a score range writes,
    for each row shard, one file of (row, half-count) pairs (``placements-<model>-<range>-<shard>.npy``,
    under a temporary name, then renamed), and a row shard reads its own files from every range. So no
    process maps or holds all the rows' placements, and a range redone writes the same file again: a
    shard run twice changes nothing.
    """

    _PAIR = np.dtype([("row", "<i8"), ("half", "<f8")])

    def __init__(
        self,
        n_rows: int,
        directory: str | None = None,
        models: tuple[str, ...] = (),
        ranges: list[tuple[int, int]] | None = None,
    ) -> None:
        self.n_rows = n_rows
        self.directory = directory
        self.ranges = ranges or [(0, n_rows)]
        self.arrays: dict[str, np.ndarray] = {}
        if directory is not None:
            os.makedirs(directory, exist_ok=True)

    def __getstate__(self) -> dict:
        if self.directory is None:
            return self.__dict__
        return {**self.__dict__, "arrays": {}}

    def _path(self, who: str, key: int, shard: int) -> str:
        return f"{self.directory}/placements-{who}-{key}-{shard}.npy"

    def write(self, who: str, rows: np.ndarray, values: np.ndarray, *, key: int = 0) -> None:
        if self.directory is None:
            if who not in self.arrays:
                self.arrays[who] = np.full(self.n_rows, np.nan)
            self.arrays[who][rows] = values
            return
        cuts = np.searchsorted(rows, [a for a, _ in self.ranges] + [self.n_rows])  # rows come in row order
        for shard in range(len(self.ranges)):
            pairs = np.empty(int(cuts[shard + 1] - cuts[shard]), dtype=self._PAIR)
            pairs["row"] = rows[cuts[shard] : cuts[shard + 1]]
            pairs["half"] = values[cuts[shard] : cuts[shard + 1]]
            target = self._path(who, key, shard)
            tmp = f"{target}.{os.getpid()}.tmp.npy"
            np.save(tmp, pairs)
            os.replace(tmp, target)

    def read(self, who: str, start: int, stop: int) -> np.ndarray:
        if self.directory is None:
            return self.arrays[who][start:stop]
        out = np.full(stop - start, np.nan)
        for shard, (a, b) in enumerate(self.ranges):
            if a >= stop or b <= start:
                continue
            for path in glob.glob(self._path(who, "*", shard)):
                pairs = np.load(path)
                inside = pairs[(pairs["row"] >= start) & (pairs["row"] < stop)]
                out[inside["row"] - start] = inside["half"]
        return out


@dataclass
class ScoreRange:
    """The rows of one score range of one model, gathered from every row shard (in row order)."""

    rows: np.ndarray
    scores: np.ndarray
    y: np.ndarray
    unit: np.ndarray
    key: int = 0  # the range's index


def gather_range(source: Source, ranges: list[tuple[int, int]], plan: Plan, who: str, k: int) -> ScoreRange:
    """Read every row shard and keep the rows whose ``who`` score falls in range ``k``."""
    resampler = plan.resampler()
    parts = []
    for a, b in ranges:
        rows = source(a, b, models=(who,))
        scores = rows.scores(who)
        keep = np.flatnonzero(range_of(scores, plan.bounds[who]) == k)
        codes = None if rows.groups is None else plan.canonical[rows.groups[keep]]
        unit = resampler.units_of(a, b, codes) if codes is not None else resampler.units_of(a, b, None)[keep]
        parts.append((keep + a, scores[keep], rows.y[keep], unit))
    return ScoreRange(*(np.concatenate([p[j] for p in parts]) for j in range(4)), key=k)


def rank_range(part: ScoreRange, who: str, plan: Plan, store: Store) -> dict:
    """Pass over one score range: its tie runs, per-unit class counts, and each row's placement half-count.

    A positive's placement is (negatives scoring lower + ½ tied negatives) / negatives; the half-count in
    brackets is the same within the range plus the negatives of lower ranges, which the row shards add.
    A negative's half-count is (positives lower + ½ tied positives), its placement (positives − that) /
    positives. Both are whole or half numbers, so the sums are exact.
    """
    n_units = plan.resampler().n_units
    if len(part.rows) == 0:
        return {"empty": True}
    ranking = rank(part.scores, part.y)
    neg_below = np.cumsum(ranking.run_neg) - ranking.run_neg
    pos_below = np.cumsum(ranking.run_pos) - ranking.run_pos
    run = np.empty(len(part.rows), dtype=np.int64)
    run[ranking.order] = ranking.run_of_sorted
    half = np.where(part.y == 1, (neg_below + 0.5 * ranking.run_neg)[run], (pos_below + 0.5 * ranking.run_pos)[run])
    store.write(who, part.rows, half, key=part.key)
    positive = (part.y == 1).astype(np.float64)
    return {
        "empty": False,
        "scores": part.scores[ranking.order][ranking.starts],
        "run_neg": ranking.run_neg,
        "run_pos": ranking.run_pos,
        "unit_neg": np.bincount(part.unit, weights=1.0 - positive, minlength=n_units),
        "unit_pos": np.bincount(part.unit, weights=positive, minlength=n_units),
    }


class _Runs:
    """A model's tie runs over all rows (what ``roc.roc_points`` reads from a ``Ranking``)."""

    def __init__(self, run_neg: np.ndarray, run_pos: np.ndarray) -> None:
        self.run_neg, self.run_pos = run_neg, run_pos
        self.n_neg, self.n_pos = int(run_neg.sum()), int(run_pos.sum())


@dataclass
class RankPlan:
    """What the row shards need from one model's score ranges."""

    neg_offset: np.ndarray  # per range: negatives in lower ranges
    pos_offset: np.ndarray
    n_neg: int
    n_pos: int
    theta: tuple[float, float]  # mean placement of positives, of negatives (the centring shift)
    eer_threshold: float  # rows scoring at least this are accepted at the EER crossing
    eer_weight: float
    eer_far: float
    eer_frr: float
    unit_neg: np.ndarray  # units × non-empty ranges, ascending
    unit_pos: np.ndarray
    filled: list[int]  # the non-empty ranges, ascending


def rank_plan(parts: list[dict]) -> tuple[RankPlan, np.ndarray, np.ndarray]:
    """Combine one model's score ranges: the plan for the row shards, and the full (FAR, FRR) curve."""
    filled = [k for k, p in enumerate(parts) if not p["empty"]]
    run_neg = np.concatenate([parts[k]["run_neg"] for k in filled])
    run_pos = np.concatenate([parts[k]["run_pos"] for k in filled])
    scores = np.concatenate([parts[k]["scores"] for k in filled])
    runs = _Runs(run_neg, run_pos)
    far, frr = roc_points(runs)
    neg_count = np.array([0 if p["empty"] else int(p["run_neg"].sum()) for p in parts])
    pos_count = np.array([0 if p["empty"] else int(p["run_pos"].sum()) for p in parts])
    n_neg, n_pos = runs.n_neg, runs.n_pos
    neg_below = np.cumsum(run_neg) - run_neg
    pos_below = np.cumsum(run_pos) - run_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        theta_pos = float(run_pos @ ((neg_below + 0.5 * run_neg) / n_neg)) / n_pos
        theta_neg = float(run_neg @ ((n_pos - pos_below - 0.5 * run_pos) / n_pos)) / n_neg
    # The EER crossing and the density weight of ``roc.eer_influence``, from the runs alone.
    n = int(run_neg.sum() + run_pos.sum())
    gap = far - frr
    j = max(1, int(np.argmax(gap >= 0)))
    first_run = len(run_neg) - j
    ends = np.cumsum(run_neg + run_pos)
    cut = int(ends[first_run - 1]) if first_run > 0 else 0
    half = max(10, math.ceil(math.sqrt(n)))
    first = int(np.searchsorted(ends, max(0, cut - half), side="right"))
    last = int(np.searchsorted(ends, min(n, cut + half) - 1, side="right"))
    near_pos = float(run_pos[first : last + 1].sum()) + 0.5
    near_neg = float(run_neg[first : last + 1].sum()) + 0.5
    f, g = near_pos / n_pos, near_neg / n_neg
    plan = RankPlan(
        neg_offset=np.cumsum(neg_count) - neg_count,
        pos_offset=np.cumsum(pos_count) - pos_count,
        n_neg=n_neg,
        n_pos=n_pos,
        theta=(theta_pos, theta_neg),
        eer_threshold=float(scores[first_run]),
        eer_weight=f / (f + g),
        eer_far=float(far[j]),
        eer_frr=float(frr[j]),
        unit_neg=np.stack([parts[k]["unit_neg"] for k in filled], axis=1),
        unit_pos=np.stack([parts[k]["unit_pos"] for k in filled], axis=1),
        filled=filled,
    )
    return plan, far, frr


def _reduce_binary(rows: Rows, plan: Plan, unit: np.ndarray, codes: np.ndarray | None, store: Store) -> dict:
    """A row shard's binary statistics: DeLong and EER-influence sums, and the decisions' tables."""
    names = list(rows.models)
    positive = rows.y == 1
    n = plan.n_rows
    out: dict = {}
    placements, influence, accepted = {}, {}, {}
    for who in names:
        r = plan.ranks[who]
        scores = rows.scores(who)
        k = range_of(scores, plan.bounds[who])
        half = store.read(who, rows.start, rows.stop)
        with np.errstate(invalid="ignore", divide="ignore"):
            placements[who] = np.where(
                positive, (r.neg_offset[k] + half) / r.n_neg, (r.n_pos - (r.pos_offset[k] + half)) / r.n_pos
            )
        accepted[who] = scores >= r.eer_threshold
        w = r.eer_weight
        u = np.where(
            positive,
            (1.0 - w) * ((~accepted[who]) - r.eer_frr) / r.n_pos,
            w * (accepted[who] - r.eer_far) / r.n_neg,
        )
        influence[who] = u
    if len(names) == 2:
        influence["diff"] = influence[names[0]] - influence[names[1]]
    influence = {key: n * u for key, u in influence.items()}
    if codes is None:
        delong = {}
        for label, mask in (("pos", positive), ("neg", ~positive)):
            shifted = np.stack(
                [placements[who][mask] - plan.ranks[who].theta[0 if label == "pos" else 1] for who in names]
            )
            delong[label] = {"n": int(mask.sum()), "sum": shifted.sum(axis=1), "cross": shifted @ shifted.T}
        out["delong"] = delong
        # The influence terms take a few values: count rows by (class, accepted per model).
        cell = positive.astype(np.int64)
        for who in names:
            cell = cell * 2 + accepted[who]
        out["eer_cells"] = np.bincount(cell, minlength=2 ** (len(names) + 1))
    else:
        g = plan.n_groups
        out["auc_x"] = np.stack(
            [np.bincount(codes, weights=np.where(positive, placements[w], 0.0), minlength=g) for w in names]
        )
        out["auc_y"] = np.stack(
            [np.bincount(codes, weights=np.where(positive, 0.0, placements[w]), minlength=g) for w in names]
        )
        out["group_pos"] = np.bincount(codes, weights=positive, minlength=g)
        out["group_neg"] = np.bincount(codes, weights=~positive, minlength=g)
        out["eer_totals"] = {key: np.bincount(codes, weights=x, minlength=g) for key, x in influence.items()}
    decisions = {who: rows.decision(who, plan.threshold) for who in names}
    cells = rows.y.astype(np.int64)
    for who in names:
        cells = cells * 2 + decisions[who]
    n_cells = 2 ** (len(names) + 1)
    resampler = plan.resampler()
    out.update(_cell_sums(rows, names, resampler, unit, cells, n_cells))
    return out


@dataclass
class Crossings:
    """For each resample and FAR target: the score range holding its answer and the weighted counts above it."""

    range_of: dict[float, np.ndarray]  # target → per resample: index into RankPlan.filled
    base_neg: dict[float, np.ndarray]
    base_pos: dict[float, np.ndarray]
    neg_total: np.ndarray
    pos_total: np.ndarray


def crossings(plan: Plan, who: str, targets: list[float]) -> Crossings:
    """Per resample, which range's rows decide FRR at each FAR target (the ranges' weighted class totals suffice)."""
    with engine._one_blas_thread():
        return _crossings(plan, who, targets)


def _crossings(plan: Plan, who: str, targets: list[float]) -> Crossings:
    r = plan.ranks[who]
    resampler = plan.resampler()
    size = resampler.n_resamples
    out = Crossings(
        {t: np.empty(size, np.int64) for t in targets},
        {t: np.empty(size) for t in targets},
        {t: np.empty(size) for t in targets},
        np.empty(size),
        np.empty(size),
    )
    n_filled = len(r.filled)
    for part, weights in resampler.chunks():
        # Descending by score: the highest range first.
        neg = np.cumsum((weights @ r.unit_neg)[:, ::-1], axis=1)
        pos = np.cumsum((weights @ r.unit_pos)[:, ::-1], axis=1)
        neg_total, pos_total = neg[:, -1], pos[:, -1]
        out.neg_total[part], out.pos_total[part] = neg_total, pos_total
        safe = np.where(neg_total > 0, neg_total, 1.0)
        for t in targets:
            exceeds = neg / safe[:, None] > t
            at = np.where(exceeds.any(axis=1), np.argmax(exceeds, axis=1), n_filled - 1)
            rows = np.arange(len(at))
            out.range_of[t][part] = n_filled - 1 - at
            out.base_neg[t][part] = np.where(at > 0, neg[rows, np.maximum(at - 1, 0)], 0.0)
            out.base_pos[t][part] = np.where(at > 0, pos[rows, np.maximum(at - 1, 0)], 0.0)
    return out


def range_draws(part: ScoreRange, plan: Plan, who: str, index: int, found: Crossings) -> dict[float, tuple]:
    """FRR at each FAR target for the resamples whose answer lies in this score range (``index`` in ``filled``)."""
    resampler = plan.resampler()
    ok = (found.neg_total > 0) & (found.pos_total > 0)
    mine = {t: np.flatnonzero((found.range_of[t] == index) & ok) for t in found.range_of}
    values = {t: np.empty(len(rows)) for t, rows in mine.items()}
    if not any(len(rows) for rows in mine.values()):
        return {t: (mine[t], values[t]) for t in mine}
    with engine._one_blas_thread():
        boot = RocBootstrap(rank(part.scores, part.y), part.unit, resampler.n_units)
        for chunk, weights in resampler.chunks():
            # One product per chunk for the resamples any target needs here, as the engine does.
            needed = np.zeros(chunk.stop - chunk.start, dtype=bool)
            for rows in mine.values():
                needed[rows[(rows >= chunk.start) & (rows < chunk.stop)] - chunk.start] = True
            if not needed.any():
                continue
            at = np.flatnonzero(needed)
            used = weights[at]
            products = (used @ boot.cum_neg, used @ boot.cum_pos)
            for t, rows in mine.items():
                sel = rows[(rows >= chunk.start) & (rows < chunk.stop)]
                if not len(sel):
                    continue
                k = np.searchsorted(at, sel - chunk.start)
                values[t][np.searchsorted(rows, sel)] = boot.statistics_after(
                    used[k],
                    t,
                    found.base_neg[t][sel],
                    found.base_pos[t][sel],
                    found.neg_total[sel],
                    found.pos_total[sel],
                    products=(products[0][k], products[1][k]),
                )
    return {t: (mine[t], values[t]) for t in mine}


def _add_pair(total, more):
    """``total`` + ``more`` (reductions of two shards), adding into ``total``'s arrays: folding the shards in
    order gives what ``_add`` gives for all of them, bit for bit."""
    if isinstance(total, dict):
        return {key: _add_pair(total[key], more[key]) for key in total}
    if isinstance(total, np.ndarray):
        total += more
        return total
    return total + more


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


def _eer_cell_values(plan: Plan, names: list[str]) -> dict[str, np.ndarray]:
    """``n · u`` of ``roc.eer_influence`` for each (class, accepted per model) cell, computed as the engine
    computes it row by row."""
    n_models = len(names)
    cells = np.arange(2 ** (n_models + 1))
    positive = (cells >> n_models).astype(bool)
    u = {}
    for i, who in enumerate(names):
        r = plan.ranks[who]
        accepted = ((cells >> (n_models - 1 - i)) & 1).astype(bool)
        w = r.eer_weight
        u[who] = np.where(
            positive, (1.0 - w) * ((~accepted) - r.eer_frr) / r.n_pos, w * (accepted - r.eer_far) / r.n_neg
        )
    if n_models == 2:
        u["diff"] = u[names[0]] - u[names[1]]
    return {key: plan.n_rows * value for key, value in u.items()}


def _cells_mean_and_se(counts: np.ndarray, x: np.ndarray) -> tuple[float, float, int]:
    """``intervals.mean_and_se`` without groups of rows holding ``x[c]`` in ``counts[c]`` rows of cell ``c``."""
    n = int(counts.sum())
    mean = float(counts @ x) / n
    resid = x - mean
    se = math.sqrt(float(counts @ (resid * resid)) / (1.0 - 1.0 / n)) / n if n > 1 else math.inf
    return mean, se, n - 1


def _combine_binary(
    results: engine._Results,
    plan: Plan,
    total: dict,
    means: _Means,
    names: list[str],
    curves: dict[str, tuple[np.ndarray, np.ndarray]],
    roc_draws: dict[str, np.ndarray],
    progress: engine._Progress,
) -> dict:
    """The binary part of ``engine._binary`` from the summed reductions (same calls, same order of results)."""
    grouped = plan.n_groups is not None
    n_neg = plan.n_rows - plan.n_pos
    negative_groups = int(np.count_nonzero(total["group_neg"])) if grouped else None
    for metric, far in FAR_TARGETS.items():
        reason = support.rare_error_reason(far, n_neg, negative_groups)
        if reason:
            results.not_estimable[metric] = reason
    _binary_auc(results, plan, total, names)
    _binary_means(results, plan, total, means, names)
    progress("metrics", 0.4)
    _binary_eer(results, plan, total, names, curves)
    _binary_bootstrap(results, plan, total, names, curves, roc_draws)
    progress("resampling", 0.95)
    return {who: downsample_curve(*curves[who]) for who in names}


def _binary_auc(results: engine._Results, plan: Plan, total: dict, names: list[str]) -> None:
    """AUC: DeLong / Obuchowski from the placements' sums."""
    n_groups = plan.n_groups
    grouped = n_groups is not None
    paired = len(names) == 2
    n_pos = plan.n_pos
    n_neg = plan.n_rows - n_pos
    if grouped:
        theta = total["auc_x"].sum(axis=1) / n_pos
    else:
        pos = total["delong"]["pos"]
        theta = np.array([plan.ranks[w].theta[0] for w in names]) + pos["sum"] / pos["n"]
    if min(n_pos, n_neg) >= 2 and (not grouped or n_groups >= 2):
        if grouped:
            cov = iv.clustered_auc_covariance(
                theta, total["auc_x"], total["auc_y"], total["group_pos"], total["group_neg"]
            )
        else:
            cov = np.zeros((len(names), len(names)))
            for label, size in (("pos", n_pos), ("neg", n_neg)):
                part = total["delong"][label]
                d = part["sum"] / part["n"]
                cov = cov + (part["cross"] - part["n"] * np.outer(d, d)) / (part["n"] - 1) / size
    else:
        cov = np.full((len(names), len(names)), np.nan)
    auc_method = "DeLong" if not grouped else "DeLong clustered (Obuchowski 1997)"
    t_note = "" if not grouped else ", t on G − 1 df"
    df = None if not grouped else n_groups - 1
    for k, who in enumerate(names):
        results.from_interval("auc", who, iv.auc_interval(theta[k], cov[k, k], auc_method + t_note, df))
    if paired:
        variance = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
        results.difference(
            "auc",
            iv.normal_difference(
                theta[0] - theta[1], variance, auc_method + " paired test" + t_note, df, grouped=grouped
            ),
        )


def _binary_means(results: engine._Results, plan: Plan, total: dict, means: _Means, names: list[str]) -> None:
    """Accuracy at the threshold, and the probability losses."""
    grouped = plan.n_groups is not None
    paired = len(names) == 2
    for who in names:
        mean, se, _ = means(f"correct:{who}")
        results.from_interval("accuracy", who, iv.proportion_interval_of(mean, plan.n_rows, se if grouped else None))
    if paired:
        if grouped:
            results.difference("accuracy", iv.paired_proportions_clustered(*means("correct:diff")))
        else:
            neither = plan.n_rows - total["both"] - total["only_1"] - total["only_2"]
            results.difference("accuracy", iv.paired_counts(total["both"], total["only_1"], total["only_2"], neither))

    robust = ", cluster-robust" if grouped else ""
    for metric in ("brier_loss", "log_loss"):
        have = [who for who in names if plan.is_probability[who]]
        for who in have:
            results.from_interval(metric, who, iv.interval_of_mean(*means(f"{metric}:{who}"), "t interval" + robust))
        if paired and len(have) == 2:
            results.difference(metric, iv.paired_t_of(*means(f"{metric}:diff"), "paired t" + robust, grouped=grouped))


def _binary_eer(results: engine._Results, plan: Plan, total: dict, names: list[str], curves: dict) -> None:
    """EER with its linearised variance, from the influence terms' cell counts or group totals."""
    grouped = plan.n_groups is not None
    paired = len(names) == 2
    robust = ", cluster-robust" if grouped else ""
    t_note = "" if not grouped else ", t on G − 1 df"
    df = None if not grouped else plan.n_groups - 1
    eer_method = "linearised EER variance (Bahadur)" + robust + t_note
    point = {who: eer_from_points(*curves[who]) for who in names}
    values = None if grouped else _eer_cell_values(plan, names)

    def eer_se(key: str) -> float:
        if grouped:
            _, se, _ = iv.mean_and_se_of_totals(total["eer_totals"][key], total["group_sizes"])
        else:
            _, se, _ = _cells_mean_and_se(total["eer_cells"], values[key])
        return se

    for who in names:
        se = eer_se(who)
        results.from_interval("eer", who, iv.auc_interval(point[who], se * se, eer_method, df))
    if paired:
        se = eer_se("diff")
        delta = point[names[0]] - point[names[1]]
        results.difference("eer", iv.normal_difference(delta, se * se, eer_method + ", paired", df, grouped=grouped))


def _binary_bootstrap(
    results: engine._Results, plan: Plan, total: dict, names: list[str], curves: dict, roc_draws: dict
) -> None:
    """FRR at FAR from the score ranges' resamples; F1 from the resampled joint table."""
    paired = len(names) == 2
    resampler = plan.resampler()
    n_models = len(names)
    f1_draws = {who: np.empty(resampler.n_resamples) for who in names}
    for part, tables in resampler.resample_tables(total["tables"]):
        shaped = tables.reshape((-1, 2) + (2,) * n_models)
        for k, who in enumerate(names):
            axes = tuple(2 + j for j in range(n_models) if j != k)
            table = shaped.sum(axis=axes) if axes else shaped
            f1_draws[who][part] = mt.f1_from_counts(table[:, 1, 1], table[:, 0, 1], table[:, 1, 0])
    counts = total["counts"].reshape((2,) + (2,) * n_models)
    roc_metrics = list(FAR_TARGETS)
    far_point = {who: {m: frr_at_far_from_points(*curves[who], FAR_TARGETS[m]) for m in roc_metrics} for who in names}
    for k, who in enumerate(names):
        for j, metric in enumerate(roc_metrics):
            results.from_draws(metric, who, far_point[who][metric], roc_draws[who][:, j])
        axes = tuple(1 + i for i in range(n_models) if i != k)
        table = counts.sum(axis=axes) if axes else counts  # (truth, decision)
        tp, fp, fn = int(table[1, 1]), int(table[0, 1]), int(table[1, 0])
        results.from_draws("f1", who, float(mt.f1_from_counts(tp, fp, fn)), f1_draws[who])
    if paired:
        for j, metric in enumerate(roc_metrics):
            delta = far_point[names[0]][metric] - far_point[names[1]][metric]
            results.paired_draws(metric, delta, roc_draws[names[0]][:, j], roc_draws[names[1]][:, j])
        delta = results.metrics["f1"]["value"] - results.champion_metrics["f1"]["value"]
        results.paired_draws("f1", delta, f1_draws[names[0]], f1_draws[names[1]])


def combine(
    plan: Plan,
    reductions: list[dict],
    truth: Truth,
    models: dict[str, Predictions],
    *,
    primary: str,
    progress: engine._Progress | None = None,
    rocs: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    roc_draws: dict[str, np.ndarray] | None = None,
) -> dict:
    """The engine's report from the shards' reductions (binary: with each model's full ROC from
    ``rank_plan`` and its FRR-at-FAR resamples from ``range_draws``)."""
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

    curves = {}
    if task == "binary":
        with engine._one_blas_thread():
            curves = _combine_binary(results, plan, total, means, names, rocs, roc_draws, progress)
    elif task == "regression":
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
    return engine._report(task, primary, plan.threshold, plan.seed, truth, models, results, resampler, curves)


@dataclass
class Job:
    """Everything a shard needs besides the plan; sent once to each worker process."""

    truth: Truth
    models: dict[str, Predictions]
    threshold: float
    ranges: list[tuple[int, int]]
    store: Store

    def source(self) -> Source:
        if isinstance(self.truth, StoredTruth):
            return StoredInputs(self.truth, self.models, self.threshold)
        return in_memory(self.truth, self.models, self.threshold)


_JOB: list[Job] = []


def _use_job(job: Job) -> None:
    _JOB[:] = [job]


# The shard calls: top-level functions of picklable arguments, so that worker processes can run them.
def scan_shard(a: int, b: int) -> dict:
    return scan(_JOB[0].source()(a, b, ids=True))


def rank_shard(the_plan: Plan, who: str, k: int) -> dict:
    job = _JOB[0]
    return rank_range(gather_range(job.source(), job.ranges, the_plan, who, k), who, the_plan, job.store)


def reduce_shard(the_plan: Plan, a: int, b: int) -> dict:
    return reduce(_JOB[0].source()(a, b), the_plan, _JOB[0].store)


def draws_shard(the_plan: Plan, who: str, index: int, found: Crossings) -> dict:
    job = _JOB[0]
    k = the_plan.ranks[who].filled[index]
    return range_draws(gather_range(job.source(), job.ranges, the_plan, who, k), the_plan, who, index, found)


Runner = Callable[[Callable, list[tuple]], list]


def run_here(fn: Callable, calls: list[tuple], fold: Callable | None = None) -> list:
    """Run the shard calls one after the other in this process.

    With ``fold`` (every runner takes it), the results are folded in call order as they come and the
    list holds that one result, so the caller never holds every shard's result at once."""
    results, folded = [], _Folded(fold) if fold is not None else None
    for index, call in enumerate(calls):
        result = fn(*call)
        if folded is None:
            results.append(result)
        else:
            folded.add(index, result)
        _release()
    return results if folded is None else folded.result()


def _release() -> None:
    """Hand the memory a shard freed back to the system. Arrow's allocator and the C library's keep freed
    blocks for reuse (glibc raises its threshold for mapping large blocks once some are freed, so later
    ones come from a heap that fragments): a process running one shard after another would otherwise
    keep growing by a shard's temporaries."""
    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


try:
    _LIBC = ctypes.CDLL("libc.so.6")
    _LIBC.malloc_trim  # noqa: B018 - glibc only
except (OSError, AttributeError):
    _LIBC = None


class _Folded:
    """Results folded in call order, whatever order they arrive in (a result waits for its predecessors)."""

    def __init__(self, fold: Callable) -> None:
        self.fold, self.total, self.next, self.waiting = fold, None, 0, {}

    def add(self, index: int, result) -> None:
        self.waiting[index] = result
        while self.next in self.waiting:
            result = self.waiting.pop(self.next)
            self.total = result if self.next == 0 else self.fold(self.total, result)
            self.next += 1

    def result(self) -> list:
        return [self.total]


def process_runner(workers: int, *, attempts: int = 3, context: str = "fork") -> tuple[Runner, Callable, Callable]:
    """A runner over a pool of ``workers`` processes, the function that hands them the job, and one that
    shuts the pool down.

    A shard whose process dies (killed, out of memory) is run again in a fresh pool, up to ``attempts``
    rounds; results are kept by shard position, one per shard, so a shard run twice is never counted twice.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    state: dict = {}

    def start(job: Job) -> None:
        state["job"] = job

    def pool() -> ProcessPoolExecutor:
        if state.get("pool") is None:
            state["pool"] = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context(context),
                initializer=_use_job,
                initargs=(state["job"],),
            )
        return state["pool"]

    def close() -> None:
        if state.get("pool") is not None:
            state.pop("pool").shutdown()

    def run(fn: Callable, calls: list[tuple], fold: Callable | None = None) -> list:
        done: dict[int, object] = {}
        folded = _Folded(fold) if fold is not None else None
        for _ in range(attempts):
            pending = [i for i in range(len(calls)) if i not in done]
            if not pending:
                break
            futures = {pool().submit(fn, *calls[i]): i for i in pending}
            broken = False
            for future in as_completed(futures):
                try:
                    result = future.result()
                except BrokenProcessPool:
                    broken = True  # lost with its process: run again in a fresh pool
                    continue
                if folded is None:
                    done[futures[future]] = result
                else:
                    done[futures[future]] = True
                    folded.add(futures[future], result)
            if broken:
                close()
        missing = [i for i in range(len(calls)) if i not in done]
        if missing:
            raise RuntimeError(f"shards {missing} were lost {attempts} times")
        return folded.result() if folded else [done[i] for i in range(len(calls))]

    return run, start, close


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
    workers: int = 0,
    directory: str | None = None,
) -> dict:
    """``engine.evaluate`` computed shard by shard: the same report to ≤ 1e-12.

    ``workers``: 0 runs the shards in this process; otherwise in that many worker processes (the
    placement store then lives in ``directory``, memory-mapped), a lost shard being run again.
    """
    if task not in SHARDED_TASKS:
        raise NotImplementedError(f"sharded evaluation of {task} tasks is not available yet")
    report = engine._Progress(progress)
    primary, truth, models = engine._prepare(
        task, truth, predictions, champion, primary, threshold, n_resamples, report
    )
    if workers:
        if directory is None:
            raise ValueError("worker processes share the placement store through a directory")
        run, start, close = process_runner(workers)
    else:
        directory = None
        run, start, close = run_here, _use_job, lambda: None
    try:
        return _run_sharded(
            task, truth, models, primary, threshold, seed, n_resamples, n_shards, directory, run, start, report
        )
    finally:
        close()


def evaluate_stored(
    *,
    truth: StoredTruth,
    predictions: StoredPredictions,
    champion: StoredPredictions | None = None,
    primary: str | None = None,
    threshold: float = 0.5,
    seed: int = 0,
    n_resamples: int = 1000,
    memory_mb: int = 1500,
    rows_per_shard: int | None = None,
    directory: str,
    progress=None,
    workers: int = 0,
    run: Runner | None = None,
    start: Callable | None = None,
) -> dict:
    """``engine.evaluate`` in bounded memory: inputs read from disk a row range at a time
    (``stored``), ranges sized so that a shard stays within ``memory_mb``; the same report.

    The shards run in this process, in ``workers`` worker processes, or by a given ``run``/``start``
    (the Celery runner). ``directory`` holds the placement store. ``rows_per_shard`` overrides the size
    the budget gives (tests).
    """
    task = truth.task
    if task not in SHARDED_TASKS:
        raise NotImplementedError(f"sharded evaluation of {task} tasks is not available yet")
    primary = engine.check_settings(task, primary, n_resamples, threshold)
    models = {"challenger": predictions, **({"champion": champion} if champion is not None else {})}
    _check_stored_primary(task, primary, models)
    report = engine._Progress(progress)
    n_shards = math.ceil(truth.n_rows / (rows_per_shard or stored.shard_rows(memory_mb)))
    close = lambda: None  # noqa: E731
    if run is None and workers:
        run, start, close = process_runner(workers)
    elif run is None:
        run, start = run_here, _use_job
    try:
        return _run_sharded(
            task, truth, models, primary, threshold, seed, n_resamples, n_shards, directory, run, start, report
        )
    finally:
        close()


def _check_stored_primary(task: str, primary: str, models: dict[str, StoredPredictions]) -> None:
    """``engine._check_primary_computable`` for stored predictions (the same messages)."""
    if task == "binary" and primary in mt.PROBABILITY_METRICS:
        for p in models.values():
            if not p.is_probability and p.first_outside is not None:
                _, file_row, value = p.first_outside
                raise p.error(
                    f"{primary} needs probabilities, but the score {value!r} is outside [0, 1]",
                    file_row=file_row,
                    column="score",
                )
    if task == "multiclass" and primary == "log_loss":
        for p in models.values():
            if not p.has_proba:
                raise EvaluationInputError("log_loss needs p_<class> probability columns", file=p.name, line=1)


def _run_sharded(task, truth, models, primary, threshold, seed, n_resamples, n_shards, directory, run, start, report):
    """The passes of ``evaluate_sharded``, each a batch of shard calls given to ``run``."""
    ranges = row_ranges(truth.n_rows, n_shards)
    store = Store(truth.n_rows, directory, tuple(models), ranges)
    start(Job(truth, models, threshold, ranges, store))
    scans = run(scan_shard, ranges)
    the_plan = plan(
        task,
        scans,
        n_groups=truth.n_groups,
        seed=seed,
        n_resamples=n_resamples,
        threshold=threshold,
        n_ranges=n_shards,
    )
    report("metrics", 0.3)
    rocs = {}
    if task == "binary":
        # Every model's score ranges in one batch, so that the workers share them.
        calls = [(the_plan, who, k) for who in models for k in range(len(the_plan.bounds[who]))]
        parts = run(rank_shard, calls)
        for who in models:
            mine = [part for (_, owner, _), part in zip(calls, parts, strict=True) if owner == who]
            the_plan.ranks[who], far, frr = rank_plan(mine)
            rocs[who] = (far, frr)
        del parts, mine
    # Folded as they come: each holds per-group totals, so all of them at once would grow with the rows.
    reductions = run(reduce_shard, [(the_plan, a, b) for a, b in ranges], fold=_add_pair)
    report("resampling", 0.5)
    roc_draws = {}
    if task == "binary":
        wanted = list(FAR_TARGETS.values())
        found = {who: crossings(the_plan, who, wanted) for who in models}
        calls = []
        for who in models:
            roc_draws[who] = np.full((n_resamples, len(wanted)), np.nan)
            for index in range(len(the_plan.ranks[who].filled)):
                # Only the ranges that hold some resample's answer (for FAR targets, mostly the top one).
                if any(np.any(at == index) for at in found[who].range_of.values()):
                    calls.append((the_plan, who, index, found[who]))
        for (_, who, _, _), result in zip(calls, run(draws_shard, calls), strict=True):
            for j, (rows, values) in enumerate(result.values()):
                roc_draws[who][rows, j] = values
    return combine(
        the_plan, reductions, truth, models, primary=primary, progress=report, rocs=rocs, roc_draws=roc_draws
    )


def _cell_sums(rows, names: list, resampler, unit: np.ndarray, cells: np.ndarray, n_cells: int) -> dict:
    """A shard's contingency cells (truth x each model's decision): their counts, their per-unit
    tables for the bootstrap, and with two models the agreement counts McNemar's test needs."""
    out = {
        "counts": np.bincount(cells, minlength=n_cells),
        "tables": resampler.cell_tables(unit if resampler.grouped else None, cells, n_cells),
    }
    if len(names) == 2:
        first, second = (rows.correct(who) for who in names)
        out["both"] = int(np.count_nonzero(first & second))
        out["only_1"] = int(np.count_nonzero(first & ~second))
        out["only_2"] = int(np.count_nonzero(~first & second))
    return out
