"""The paired Poisson bootstrap, made cheap.

Resampling units
    With a ``group`` column the units are the groups (Poisson(1) weight per group: the cluster
    bootstrap); beyond ``MAX_UNITS`` groups, random buckets of whole groups. Without groups and with
    at most ``MAX_UNITS`` rows the units are the rows. Larger ungrouped data is split into
    ``MAX_UNITS`` random buckets of equal size and the buckets are resampled: every statistic here is
    a smooth function of sums (or a quantile of weighted counts), and for those a Poisson bootstrap
    over random buckets of iid rows estimates the same variance as the row bootstrap, up to a random
    relative error of about √(2/units) in the variance (1.4% for 10,000 buckets).
    ``tests/experiments/evaluation/test_calibration.py`` checks the resulting coverage.

Weights
    Poisson(1) by inverse CDF on 32-bit uniform integers (each probability exact to 2⁻³²), drawn in
    chunks of resamples from ``numpy.random.Generator(PCG64(seed))``: the same seed gives the same
    weights, whatever consumes them. Champion and challenger always see the same weights (paired).

Contingency tables
    Statistics of counts (F1, macro-F1, balanced accuracy) resample the joint
    (truth, champion, challenger) table: without groups each cell's count is redrawn as
    Poisson(count) — exactly the row-level Poisson bootstrap, at the cost of one draw per cell; with
    groups, each resample is ``weights @ per-group tables``.

ROC statistics (EER, FRR at FAR)
    Each model is sorted once. Rows of equal score and unit are merged into entries, entries are cut
    into blocks that end on tie boundaries, and the per-unit cumulative class counts at block ends form
    a (units × blocks) matrix. One matrix product per chunk of resamples gives every resample's
    weighted ROC at the block ends; for each statistic and resample only the one block that brackets
    the answer is then expanded row by row. Cost: O(R·U·K) in BLAS plus O(R·N/K) for the refinement,
    instead of R sorts.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from experiments.evaluation.roc import Ranking

MAX_UNITS = 10_000
# Weights per chunk of resamples: ~1M cells keeps the per-chunk arrays a few tens of MB, and few chunks keep
# small evaluations from drowning in per-call overhead.
CHUNK_CELLS = 1_250_000

_POISSON_CUTS = np.array(
    [
        c
        for c in (math.floor(sum(math.exp(-1) / math.factorial(j) for j in range(k + 1)) * 2**32) for k in range(16))
        if c < 2**32
    ],
    dtype=np.uint32,
)


class Resampler:
    """Units and reproducible Poisson(1) weights, shared by every paired statistic of one evaluation."""

    def __init__(
        self,
        *,
        n_rows: int,
        groups: np.ndarray | None,
        n_groups: int | None,
        n_resamples: int,
        seed: int,
        max_units: int | None = None,
        grouped: bool | None = None,
    ) -> None:
        """``groups``: each row's canonical group code, or None. A sharded evaluation, which never holds every
        row, passes ``groups=None, grouped=True`` with ``n_groups`` and finds units with ``units_of``."""
        max_units = MAX_UNITS if max_units is None else max_units
        self.n_resamples = int(n_resamples)
        root = np.random.SeedSequence(seed)
        units_seed, weights_seed, cells_seed = root.spawn(3)
        self.weights_seed = weights_seed
        self.cells_seed = cells_seed
        self.units_seed = units_seed
        self.grouped = groups is not None if grouped is None else grouped
        self.groups = groups
        self.n_rows = int(n_rows)
        self.n_groups = None if n_groups is None else int(n_groups)
        if self.grouped and n_groups <= max_units:
            self.n_units, self.kind = int(n_groups), "groups"
        elif self.grouped:
            # Many small groups: resample random buckets of whole groups (still a cluster bootstrap).
            self.n_units, self.kind = max_units, "random buckets of groups"
        elif n_rows <= max_units:
            self.n_units, self.kind = int(n_rows), "rows"
        else:
            self.n_units, self.kind = max_units, "random buckets of rows"
        self._unit: np.ndarray | None = None

    @property
    def unit(self) -> np.ndarray:
        """Each row's resampling unit (computed on first use: a sharded evaluation never needs all of them)."""
        if self._unit is None:
            self._unit = self.units_of(0, self.n_rows, self.groups)
        return self._unit

    def _permutation(self, n: int) -> np.ndarray:
        if getattr(self, "_permuted", (None, None))[0] != n:
            self._permuted = (n, np.random.default_rng(self.units_seed).permutation(n))
        return self._permuted[1]

    def units_of(self, start: int, stop: int, codes: np.ndarray | None) -> np.ndarray:
        """The units of rows ``start:stop``, given their canonical group codes (``None`` without groups).

        Every row's unit depends only on the seed, the row count (or group count) and its own row index (or
        group code), so a shard of rows finds the same units as the whole evaluation.
        """
        if self.grouped:
            if self.kind == "groups":
                return np.asarray(codes).astype(np.int64)
            return self.group_units()[codes]
        if self.kind == "rows":
            return np.arange(start, stop, dtype=np.int64)
        return self._permutation(self.n_rows)[start:stop] % self.n_units

    def group_units(self) -> np.ndarray:
        """The unit of each canonical group code (grouped data only)."""
        if self.kind == "groups":
            return np.arange(self.n_groups, dtype=np.int64)
        return self._permutation(self.n_groups) % self.n_units

    @property
    def chunk(self) -> int:
        return int(np.clip(CHUNK_CELLS // self.n_units, 32, max(32, self.n_resamples)))

    def chunks(self) -> Iterator[tuple[slice, np.ndarray]]:
        """(resample slice, weights chunk × units) in order; the same seed always yields the same weights."""
        chunk = self.chunk
        rng = np.random.Generator(np.random.PCG64(self.weights_seed))
        buffer = np.empty((chunk, self.n_units))
        counts = np.empty((chunk, self.n_units), dtype=np.uint8)
        for start in range(0, self.n_resamples, chunk):
            size = min(chunk, self.n_resamples - start)
            uniform = rng.integers(0, 2**32, size=(size, self.n_units), dtype=np.uint32)
            weights = counts[:size]
            weights.fill(0)
            for cut in _POISSON_CUTS:
                weights += uniform >= cut
            out = buffer[:size]
            np.copyto(out, weights)
            yield slice(start, start + size), out

    def unit_totals(self, values: np.ndarray) -> np.ndarray:
        """Per-unit sums of per-row ``values`` (rows × k, or rows)."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim == 1:
            return np.bincount(self.unit, weights=values, minlength=self.n_units)
        return np.stack([np.bincount(self.unit, weights=col, minlength=self.n_units) for col in values.T], axis=1)

    def resample_cells(self, cells: np.ndarray, n_cells: int) -> Iterator[tuple[slice, np.ndarray]]:
        """Resampled contingency tables: (resample slice, chunk × n_cells counts) for per-row cell codes.

        Grouped: weights @ per-unit tables (units hold whole groups). Otherwise each cell count is
        Poisson(count), which is the row-level Poisson bootstrap exactly.
        """
        if self.grouped:
            yield from self.resample_tables(self.cell_tables(self.unit, cells, n_cells))
        else:
            yield from self.resample_tables(np.bincount(cells, minlength=n_cells))

    def cell_tables(self, unit: np.ndarray, cells: np.ndarray, n_cells: int) -> np.ndarray:
        """What ``resample_tables`` takes for rows with these units and cell codes (tables add up over shards)."""
        if self.grouped:
            flat = unit * n_cells + cells
            return np.bincount(flat, minlength=self.n_units * n_cells).reshape(self.n_units, n_cells)
        return np.bincount(cells, minlength=n_cells)

    def resample_tables(self, tables: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
        """``resample_cells`` from the summed ``cell_tables``: units × cells grouped, cell counts otherwise."""
        if self.grouped:
            n_cells = tables.shape[1]
            used = np.flatnonzero(tables.any(axis=0))
            compact = tables[:, used].astype(np.float64)
            for part, weights in self.chunks():
                out = np.zeros((weights.shape[0], n_cells))
                out[:, used] = weights @ compact
                yield part, out
            return
        n_cells = len(tables)
        counts = np.asarray(tables).astype(np.float64)
        rng = np.random.Generator(np.random.PCG64(self.cells_seed))
        for start in range(0, self.n_resamples, self.chunk):
            size = min(self.chunk, self.n_resamples - start)
            yield slice(start, start + size), rng.poisson(counts, size=(size, n_cells)).astype(np.float64)


class RocBootstrap:
    """Weighted ROC statistics of one model under unit weights, by block brackets and local refinement.

    ``statistics`` names what to compute per resample: ``"eer"`` or a FAR target as a float.
    """

    def __init__(self, ranking: Ranking, unit: np.ndarray, n_units: int, *, block: int | None = None) -> None:
        n = len(ranking.order)
        descending = ranking.order[::-1]
        run = (ranking.n_runs - 1) - ranking.run_of_sorted[::-1]
        y_desc = ranking.y[descending].astype(np.float64)
        unit_desc = unit[descending]
        if ranking.n_runs == n:
            # No ties: one entry per row, every entry ends a run.
            self.e_unit = unit_desc
            self.e_pos = y_desc
            self.e_neg = 1.0 - y_desc
            self.run_end = np.ones(n, dtype=bool)
        else:
            keys, inverse = np.unique(run * n_units + unit_desc, return_inverse=True)
            self.e_unit = keys % n_units
            self.e_pos = np.bincount(inverse, weights=y_desc, minlength=len(keys))
            self.e_neg = np.bincount(inverse, weights=1.0 - y_desc, minlength=len(keys))
            e_run = keys // n_units
            self.run_end = np.append(e_run[1:] != e_run[:-1], True)
        n_entries = len(self.e_unit)
        self.n_units = n_units
        if block is None:
            # Balance the block-end matrix product (∝ units × blocks) against the refinement (∝ rows per
            # block): about 30·√(entries / units) blocks, measured on this kind of machine.
            n_blocks = min(1000.0, max(1.0, 30 * math.sqrt(n_entries / n_units)))
            block = max(16, math.ceil(n_entries / n_blocks))
        run_end_at = np.flatnonzero(self.run_end)
        wanted = np.minimum(np.arange(block, n_entries + block, block), n_entries) - 1
        self.ends = np.unique(run_end_at[np.searchsorted(run_end_at, wanted)])
        self.starts = np.concatenate(([0], self.ends[:-1] + 1))
        self.lengths = self.ends - self.starts + 1
        n_blocks = len(self.ends)
        block_of = np.repeat(np.arange(n_blocks), self.lengths)
        flat = self.e_unit * n_blocks + block_of
        size = n_blocks * n_units
        # (units × blocks) cumulative counts at block ends, C-ordered for weights @ matrix.
        self.cum_neg = np.bincount(flat, weights=self.e_neg, minlength=size).reshape(n_units, n_blocks).cumsum(1)
        self.cum_pos = np.bincount(flat, weights=self.e_pos, minlength=size).reshape(n_units, n_blocks).cumsum(1)

    def statistics(self, weights: np.ndarray, wanted: list) -> np.ndarray:
        """(resamples × len(wanted)) values; NaN where a resample lacks a class."""
        neg_at = weights @ self.cum_neg
        pos_at = weights @ self.cum_pos
        neg_total, pos_total = neg_at[:, -1].copy(), pos_at[:, -1].copy()
        ok = (neg_total > 0) & (pos_total > 0)
        neg_total[~ok] = 1.0
        pos_total[~ok] = 1.0
        zero = np.zeros(weights.shape[0])
        out = self._statistics(weights, wanted, neg_at, pos_at, neg_total, pos_total, zero, zero)
        out[~ok] = np.nan
        return out

    def statistics_after(
        self,
        weights: np.ndarray,
        what,
        base_neg: np.ndarray,
        base_pos: np.ndarray,
        neg_total: np.ndarray,
        pos_total: np.ndarray,
        products: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """One statistic per resample when these rows are a range of scores below others.

        ``base_neg`` / ``base_pos``: each resample's weighted class counts of the rows scoring above this range;
        ``neg_total`` / ``pos_total``: of all rows (positive). Weights and counts are whole numbers, so the
        sums are exact and the values equal those of ``statistics`` on all rows, for the resamples whose
        answer lies in this range (or, for the lowest range, beyond every threshold). ``products``:
        ``weights @ cum_neg`` and ``weights @ cum_pos`` when already computed.
        """
        neg_prod, pos_prod = products if products is not None else (weights @ self.cum_neg, weights @ self.cum_pos)
        neg_at = base_neg[:, None] + neg_prod
        pos_at = base_pos[:, None] + pos_prod
        return self._statistics(weights, [what], neg_at, pos_at, neg_total, pos_total, base_neg, base_pos)[:, 0]

    def _statistics(self, weights, wanted, neg_at, pos_at, neg_total, pos_total, start_neg, start_pos) -> np.ndarray:
        far_at = neg_at / neg_total[:, None]
        frr_at = 1.0 - pos_at / pos_total[:, None]
        out = np.empty((weights.shape[0], len(wanted)))
        for k, what in enumerate(wanted):
            if what == "eer":
                block = np.argmax(far_at - frr_at >= 0, axis=1)
            else:
                exceeds = far_at > what
                block = np.where(exceeds.any(axis=1), np.argmax(exceeds, axis=1), len(self.ends) - 1)
            out[:, k] = self._refine(weights, block, neg_at, pos_at, neg_total, pos_total, what, start_neg, start_pos)
        return out

    def _refine(self, weights, block, neg_at, pos_at, neg_total, pos_total, what, start_neg, start_pos) -> np.ndarray:
        rows = np.arange(weights.shape[0])
        width = int(self.lengths[block].max())
        offsets = np.arange(width)
        valid = offsets[None, :] < self.lengths[block][:, None]
        index = np.minimum(self.starts[block][:, None] + offsets[None, :], len(self.e_unit) - 1)
        w = weights[rows[:, None], self.e_unit[index]] * valid
        first_block = block == 0
        base_neg = np.where(first_block, start_neg, neg_at[rows, np.maximum(block - 1, 0)])
        base_pos = np.where(first_block, start_pos, pos_at[rows, np.maximum(block - 1, 0)])
        far = (base_neg[:, None] + np.cumsum(w * self.e_neg[index], axis=1)) / neg_total[:, None]
        frr = 1.0 - (base_pos[:, None] + np.cumsum(w * self.e_pos[index], axis=1)) / pos_total[:, None]
        point = valid & self.run_end[index]
        base_far = base_neg / neg_total
        base_frr = 1.0 - base_pos / pos_total
        if what == "eer":
            gap = far - frr
            hit = point & (gap >= 0)
        else:
            hit = point & (far > what)
        has_hit = hit.any(axis=1)
        first = np.where(has_hit, np.argmax(hit, axis=1), width)
        # The point before: the last run end before ``first`` in the block, else the block's base point.
        last_point = np.maximum.accumulate(np.where(point, offsets[None, :], -1), axis=1)
        before = np.where(first > 0, last_point[rows, np.maximum(first - 1, 0)], -1)
        prev_far = np.where(before >= 0, far[rows, np.maximum(before, 0)], base_far)
        prev_frr = np.where(before >= 0, frr[rows, np.maximum(before, 0)], base_frr)
        if what != "eer":
            return prev_frr
        at = np.minimum(first, width - 1)
        hit_far, hit_frr = far[rows, at], frr[rows, at]
        gap_hit = hit_far - hit_frr
        gap_prev = prev_far - prev_frr
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(gap_hit == 0, 1.0, gap_prev / (gap_prev - gap_hit))
            return np.where(gap_hit == 0, hit_far, prev_far + share * (hit_far - prev_far))
