"""``evaluate()``: point metrics, 95% intervals and the paired challenger-vs-champion comparison.

Which method gives which interval (``interval_methods`` and each comparison's ``method`` say it in the report):

================================  =====================================  =======================================
metric                            interval of one model                  paired difference (challenger − champion)
================================  =====================================  =======================================
auc                               DeLong (normal, clipped to [0, 1])     DeLong z test
eer                               linearised variance (normal, clipped)  z test on the linearised difference
accuracy                          Wilson score                           McNemar mid-p, Newcombe (1998) interval
brier_loss, log_loss, mae         t interval of the mean per-row loss    paired t on per-row differences
rmse                              bootstrap-t of the MSE, log scale      paired percentile Poisson bootstrap
frr_at_far_*, f1, macro_f1,       percentile Poisson bootstrap           paired percentile Poisson bootstrap
balanced_accuracy, r2
================================  =====================================  =======================================

With a ``group`` column every one of them accounts for the clusters: Obuchowski's clustered DeLong,
Wilson at the design-effect sample size, Obuchowski's clustered McNemar, cluster-robust standard
errors, and bootstrap weights per group. Few groups get small-sample corrections (``intervals``): a t
reference on G − 1 degrees of freedom with the CR2 / Bell–McCaffrey variance for the analytic tests,
and cluster-bootstrap intervals widened by ``intervals.few_groups_factor``. Bootstrap weights are
drawn per group in a canonical order (groups sorted by their smallest row id), so results depend only
on the data and the seed, never on how the group labels are spelled or in which order rows come.

Sharded. ``sharding.evaluate_sharded`` computes this same report from shards that never hold all the rows
(row shards reduce to sums, per-group totals and per-unit tables; binary rank statistics go through ranges
of scores that keep ties together) and combines them exactly: the same numbers to ≤ 1e-12, every
bootstrap resample included, because the Poisson weights are drawn per resampling unit, never per row, and
a shard needs only each row's unit (``Resampler.units_of``). The weight scheme is therefore today's; the
algorithm is set out in the ``sharding`` module's docstring.

The verdict on a metric: the 95% interval of the difference lies entirely on the better side of 0 →
``better``; entirely on the worse side → ``worse``; otherwise ``no_significant_difference``; and
``insufficient_data`` with a ``reason`` where the data cannot support a verdict (``support``): fewer
groups than a calibrated verdict needs, a rare-error metric without enough negatives, or a difference
whose variance is zero or undefined (never p = 0 or a zero-width interval).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from threadpoolctl import ThreadpoolController

from experiments.evaluation import intervals as iv
from experiments.evaluation import metrics as mt
from experiments.evaluation import support
from experiments.evaluation.errors import EvaluationInputError
from experiments.evaluation.reading import TASKS, Predictions, Truth, read_predictions, read_truth
from experiments.evaluation.resampling import Resampler, RocBootstrap
from experiments.evaluation.roc import (
    FAR_TARGETS,
    downsample_curve,
    eer_from_points,
    eer_influence,
    frr_at_far_from_points,
    impute_worst,
    placements,
    rank,
    roc_points,
)

Progress = Callable[[str, float], None]
VERDICTS = ("better", "worse", "no_significant_difference", "insufficient_data")
_THREADPOOLS: list[ThreadpoolController] = []


def _one_blas_thread():
    """A context with one BLAS thread (the controller scans loaded libraries once, so it is made once)."""
    if not _THREADPOOLS:
        _THREADPOOLS.append(ThreadpoolController())
    return _THREADPOOLS[0].limit(limits=1, user_api="blas")


BOOTSTRAP = "percentile Poisson bootstrap"
PAIRED_BOOTSTRAP = "paired percentile Poisson bootstrap"


class _Progress:
    """Forwards (stage, overall fraction 0…1) to the caller's callback, never going backwards."""

    def __init__(self, callback: Progress | None) -> None:
        self.callback = callback
        self.done = 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        self.done = max(self.done, min(1.0, fraction))
        if self.callback is not None:
            self.callback(stage, self.done)


def verdict(low: float | None, high: float | None, metric: str) -> str:
    if low is None or high is None:
        return "no_significant_difference"
    if mt.higher_is_better(metric):
        low, high = -high, -low  # now "better" means entirely below 0, as for losses
    if high < 0:
        return "better"
    if low > 0:
        return "worse"
    return "no_significant_difference"


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class _Results:
    """Collects per-metric intervals (both models) and paired differences, then renders the JSON.

    It also applies what the data can support (``support``): too few groups for a verdict, rare-error
    metrics that are not estimable, and the few-groups widening of bootstrap intervals.
    """

    def __init__(self, task: str, paired: bool, n_groups: int | None = None) -> None:
        self.task = task
        self.paired = paired
        self.metrics: dict[str, dict] = {}
        self.champion_metrics: dict[str, dict] = {}
        self.methods: dict[str, str] = {}
        self.comparisons: dict[str, dict] = {}
        self.widen = iv.few_groups_factor(n_groups)
        self.approximate = support.approximate(n_groups)
        self.groups_reason = support.groups_reason(n_groups)
        self.not_estimable: dict[str, str] = {}

    def interval(
        self,
        metric: str,
        who: str,
        value: float,
        low: float | None,
        high: float | None,
        method: str,
        reason: str | None = None,
    ) -> None:
        target = self.metrics if who == "challenger" else self.champion_metrics
        reason = self.not_estimable.get(metric, reason)
        if metric in self.not_estimable:
            # The sample value stays (it describes these rows), but nothing is claimed beyond them.
            low = high = None
        low, high = _num(low), _num(high)
        if low is not None and high is not None and low == high:
            # A zero-width interval would present a lack of variation as certainty.
            low = high = None
            reason = reason or "the metric did not vary across resamples, so its uncertainty cannot be estimated"
        entry = {"value": _num(value), "ci_low": low, "ci_high": high}
        if reason:
            entry["reason"] = reason
        if self.approximate and low is not None:
            entry["approximate"] = True
        target[metric] = entry
        if who == "challenger":
            self.methods[metric] = method

    def from_interval(self, metric: str, who: str, result: iv.Interval) -> None:
        self.interval(metric, who, result.value, result.low, result.high, result.method)

    def from_draws(self, metric: str, who: str, value: float, draws: np.ndarray) -> None:
        low, high = iv.percentile_interval(iv.widen(draws, value, self.widen) if math.isfinite(value) else draws)
        self.interval(metric, who, value, low, high, BOOTSTRAP + self._widened())

    def _widened(self) -> str:
        return ", widened for few groups" if self.widen != 1.0 else ""

    def difference(self, metric: str, result: iv.Difference) -> None:
        reason = self.not_estimable.get(metric) or result.reason
        if reason:
            low = high = p_value = None
        else:
            low, high, p_value = _num(result.low), _num(result.high), _num(result.p_value)
        entry = {
            "metric": metric,
            "challenger": None,
            "champion": None,
            "delta": _num(result.delta),
            "ci_low": low,
            "ci_high": high,
            "p_value": p_value,
            "method": result.method,
            "verdict": "insufficient_data" if reason else verdict(low, high, metric),
            "reason": reason,
        }
        if not reason and self.groups_reason:
            entry["verdict"] = "insufficient_data"
            entry["reason"] = self.groups_reason
        if self.approximate and low is not None:
            entry["approximate"] = True
        self.comparisons[metric] = entry

    def paired_draws(self, metric: str, delta: float, draws_1: np.ndarray, draws_2: np.ndarray) -> None:
        method = PAIRED_BOOTSTRAP + self._widened()
        diff = draws_1 - draws_2
        finite = diff[np.isfinite(diff)]
        if finite.size == 0 or not math.isfinite(delta):
            self.difference(metric, iv.Difference(_num(delta), None, None, None, method, iv.UNKNOWN_VARIANCE))
            return
        if finite.max() == finite.min():
            reason = "the difference did not vary across resamples, so its uncertainty cannot be estimated"
            self.difference(metric, iv.Difference(delta, None, None, None, method, reason))
            return
        diff = iv.widen(diff, delta, self.widen)
        low, high = iv.percentile_interval(diff)
        self.difference(metric, iv.Difference(delta, low, high, iv.bootstrap_p_value(diff), method))

    def render(self) -> tuple[dict, dict, dict, dict]:
        order = [m for m in mt.METRICS[self.task] if m in self.metrics]
        metrics = {m: self.metrics[m] for m in order}
        champion = {m: self.champion_metrics[m] for m in order if m in self.champion_metrics}
        comparisons = {}
        for m in order:
            if m in self.comparisons:
                entry = dict(self.comparisons[m])
                entry["challenger"] = metrics[m]["value"]
                entry["champion"] = champion[m]["value"]
                comparisons[m] = entry
        return metrics, champion, comparisons, {m: self.methods[m] for m in order}


# --- binary -------------------------------------------------------------------------------------
class _BinaryModel:
    def __init__(self, truth: Truth, predictions: Predictions, threshold: float) -> None:
        y = truth.y
        self.scores = impute_worst(predictions.scores, y, predictions.present)
        self.ranking = rank(self.scores, y)
        self.placements = placements(self.ranking)
        self.decision = self.scores >= threshold
        self.correct = self.decision == (y == 1)
        self.far, self.frr = roc_points(self.ranking)
        if predictions.is_probability:
            # A missing row gets probability 0 for a positive, 1 for a negative: the worst loss.
            p = np.where(predictions.present, predictions.scores, 1.0 - y)
            self.losses = {"brier_loss": mt.brier_losses(y, p), "log_loss": mt.binary_log_losses(y, p)}
        else:
            self.losses = {}

    def point(self, metric: str) -> float:
        if metric == "eer":
            return eer_from_points(self.far, self.frr)
        if metric in FAR_TARGETS:
            return frr_at_far_from_points(self.far, self.frr, FAR_TARGETS[metric])
        raise KeyError(metric)


def _binary(
    truth: Truth,
    models: dict[str, Predictions],
    results: _Results,
    *,
    threshold: float,
    resampler: Resampler,
    progress: _Progress,
    groups: np.ndarray | None,
) -> dict:
    y = truth.y
    n_groups = truth.n_groups
    fitted = {who: _BinaryModel(truth, p, threshold) for who, p in models.items()}
    paired = "champion" in fitted
    progress("metrics", 0.35)

    # Rare-error metrics only where the negatives (and the groups holding them) can support them.
    negatives = y == 0
    n_negatives = int(np.count_nonzero(negatives))
    negative_groups = None
    if groups is not None:
        negative_groups = int(np.count_nonzero(np.bincount(groups[negatives], minlength=n_groups)))
    for metric, far in FAR_TARGETS.items():
        reason = support.rare_error_reason(far, n_negatives, negative_groups)
        if reason:
            results.not_estimable[metric] = reason

    # AUC: DeLong / Obuchowski, analytic; t on G − 1 df with groups.
    values = np.stack([m.placements for m in fitted.values()])
    if min(truth.class_counts.values()) >= 2 and (groups is None or (n_groups or 0) >= 2):
        theta, cov = iv.auc_covariance(values, y, groups, n_groups)
    else:
        theta, cov = values[:, y == 1].mean(axis=1), np.full((len(fitted), len(fitted)), np.nan)
    auc_method = "DeLong" if groups is None else "DeLong clustered (Obuchowski 1997)"
    t_note = "" if groups is None else ", t on G − 1 df"
    df = None if groups is None else n_groups - 1
    for k, who in enumerate(fitted):
        results.from_interval("auc", who, iv.auc_interval(theta[k], cov[k, k], auc_method + t_note, df))
    if paired:
        variance = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
        results.difference(
            "auc",
            iv.normal_difference(
                theta[0] - theta[1], variance, auc_method + " paired test" + t_note, df, grouped=groups is not None
            ),
        )

    # Accuracy at the declared threshold.
    for who, m in fitted.items():
        results.from_interval("accuracy", who, iv.proportion_interval(m.correct, groups, n_groups))
    if paired:
        results.difference(
            "accuracy",
            iv.paired_proportions(fitted["challenger"].correct, fitted["champion"].correct, groups, n_groups),
        )

    # Probability losses: only when the scores are probabilities.
    for metric in ("brier_loss", "log_loss"):
        have = [who for who, m in fitted.items() if metric in m.losses]
        method = "t interval" + (", cluster-robust" if groups is not None else "")
        for who in have:
            results.from_interval(metric, who, iv.mean_interval(fitted[who].losses[metric], groups, n_groups, method))
        if paired and len(have) == 2:
            diff = fitted["challenger"].losses[metric] - fitted["champion"].losses[metric]
            results.difference(
                metric,
                iv.paired_t(diff, groups, n_groups, "paired t" + (", cluster-robust" if groups is not None else "")),
            )
    progress("metrics", 0.4)

    # EER: the linearised (influence-function) variance, clustered like the others; t on G − 1 df with groups.
    eer_method = "linearised EER variance (Bahadur)" + (", cluster-robust" if groups is not None else "") + t_note
    influence = {who: eer_influence(m.ranking, m.far, m.frr) for who, m in fitted.items()}
    for who, m in fitted.items():
        se, _ = iv.sum_se(influence[who], groups, n_groups)
        results.from_interval("eer", who, iv.auc_interval(m.point("eer"), se * se, eer_method, df))
    if paired:
        se, _ = iv.sum_se(influence["challenger"] - influence["champion"], groups, n_groups)
        delta = fitted["challenger"].point("eer") - fitted["champion"].point("eer")
        results.difference(
            "eer", iv.normal_difference(delta, se * se, eer_method + ", paired", df, grouped=groups is not None)
        )

    # Bootstrap: ROC statistics per model under shared unit weights; F1 from the resampled joint table.
    roc_metrics = list(FAR_TARGETS)
    wanted = list(FAR_TARGETS.values())
    boots = {who: RocBootstrap(m.ranking, resampler.unit, resampler.n_units) for who, m in fitted.items()}
    draws = {who: np.full((resampler.n_resamples, len(wanted)), np.nan) for who in fitted}
    progress("resampling", 0.45)
    for part, weights in resampler.chunks():
        for who, boot in boots.items():
            draws[who][part] = boot.statistics(weights, wanted)
        progress("resampling", 0.45 + 0.45 * part.stop / resampler.n_resamples)

    cells = y.astype(np.int64)
    for m in fitted.values():
        cells = cells * 2 + m.decision
    n_models = len(fitted)
    f1_draws = {who: np.empty(resampler.n_resamples) for who in fitted}
    for part, tables in resampler.resample_cells(cells, 2 ** (n_models + 1)):
        shaped = tables.reshape((-1, 2) + (2,) * n_models)
        for k, who in enumerate(fitted):
            axes = tuple(2 + j for j in range(n_models) if j != k)
            table = shaped.sum(axis=axes) if axes else shaped  # (resamples, truth, decision)
            f1_draws[who][part] = mt.f1_from_counts(table[:, 1, 1], table[:, 0, 1], table[:, 1, 0])
    progress("resampling", 0.95)

    for who, m in fitted.items():
        for k, metric in enumerate(roc_metrics):
            results.from_draws(metric, who, m.point(metric), draws[who][:, k])
        tp = np.count_nonzero(m.decision & (y == 1))
        fp = np.count_nonzero(m.decision & (y == 0))
        fn = np.count_nonzero(~m.decision & (y == 1))
        results.from_draws("f1", who, float(mt.f1_from_counts(tp, fp, fn)), f1_draws[who])
    if paired:
        for k, metric in enumerate(roc_metrics):
            delta = fitted["challenger"].point(metric) - fitted["champion"].point(metric)
            results.paired_draws(metric, delta, draws["challenger"][:, k], draws["champion"][:, k])
        delta = results.metrics["f1"]["value"] - results.champion_metrics["f1"]["value"]
        results.paired_draws("f1", delta, f1_draws["challenger"], f1_draws["champion"])
    return {who: downsample_curve(m.far, m.frr) for who, m in fitted.items()}


# --- multiclass -----------------------------------------------------------------------------------
def _multiclass(
    truth: Truth,
    models: dict[str, Predictions],
    results: _Results,
    *,
    resampler: Resampler,
    progress: _Progress,
    groups: np.ndarray | None,
) -> None:
    y = truth.y
    k = len(truth.classes)
    n_groups = truth.n_groups
    paired = "champion" in models
    predicted = {who: np.where(p.present, p.labels, k).astype(np.int64) for who, p in models.items()}
    correct = {who: predicted[who] == y for who in models}
    for who in models:
        results.from_interval("accuracy", who, iv.proportion_interval(correct[who], groups, n_groups))
    if paired:
        results.difference(
            "accuracy", iv.paired_proportions(correct["challenger"], correct["champion"], groups, n_groups)
        )
    losses = {who: mt.multiclass_log_losses(y, p.proba) for who, p in models.items() if p.proba is not None}
    method = "t interval" + (", cluster-robust" if groups is not None else "")
    for who, loss in losses.items():
        results.from_interval("log_loss", who, iv.mean_interval(loss, groups, n_groups, method))
    if paired and len(losses) == 2:
        results.difference(
            "log_loss",
            iv.paired_t(
                losses["challenger"] - losses["champion"],
                groups,
                n_groups,
                "paired t" + (", cluster-robust" if groups is not None else ""),
            ),
        )
    progress("metrics", 0.4)

    # Resample the joint (truth, challenger[, champion]) table; "no prediction" is its own column.
    cells = y.astype(np.int64)
    for who in models:
        cells = cells * (k + 1) + predicted[who]
    n_cells = k * (k + 1) ** len(models)
    tables = resampler.cell_tables(resampler.unit if resampler.grouped else None, cells, n_cells)
    counts = np.bincount(cells, minlength=n_cells)
    _multiclass_resampled(results, list(models), k, counts, tables, resampler=resampler, progress=progress)


def _multiclass_resampled(
    results: _Results,
    names: list[str],
    k: int,
    counts: np.ndarray,
    tables: np.ndarray,
    *,
    resampler: Resampler,
    progress: _Progress,
) -> None:
    """Macro F1 and balanced accuracy with bootstrap intervals from the joint table's ``counts`` and the
    resampler's ``cell_tables``."""
    paired = len(names) == 2
    n_models = len(names)
    shape = (k,) + (k + 1,) * n_models

    def scores_of(tables: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        shaped = tables.reshape((-1, *shape))
        out = {}
        for j, who in enumerate(names):
            axes = tuple(2 + i for i in range(n_models) if i != j)
            confusion = shaped.sum(axis=axes) if axes else shaped
            out[who] = mt.confusion_scores(confusion)
        return out

    point = scores_of(counts.astype(np.float64)[None, :])
    draws = {who: np.empty((resampler.n_resamples, 2)) for who in names}
    for part, resampled in resampler.resample_tables(tables):
        for who, (macro_f1, balanced) in scores_of(resampled).items():
            draws[who][part, 0] = macro_f1
            draws[who][part, 1] = balanced
        progress("resampling", 0.4 + 0.55 * part.stop / resampler.n_resamples)
    for j, metric in enumerate(("macro_f1", "balanced_accuracy")):
        for who in names:
            results.from_draws(metric, who, float(point[who][j][0]), draws[who][:, j])
        if paired:
            delta = float(point["challenger"][j][0] - point["champion"][j][0])
            results.paired_draws(metric, delta, draws["challenger"][:, j], draws["champion"][:, j])


# --- regression -------------------------------------------------------------------------------------
def _regression(
    truth: Truth,
    models: dict[str, Predictions],
    results: _Results,
    *,
    resampler: Resampler,
    progress: _Progress,
    groups: np.ndarray | None,
) -> None:
    y = truth.y
    n_groups = truth.n_groups
    paired = "champion" in models
    errors = {who: p.values - y for who, p in models.items()}
    absolute = {who: np.abs(e) for who, e in errors.items()}
    method = "t interval" + (", cluster-robust" if groups is not None else "")
    for who in models:
        results.from_interval("mae", who, iv.mean_interval(absolute[who], groups, n_groups, method))
    if paired:
        results.difference(
            "mae",
            iv.paired_t(
                absolute["challenger"] - absolute["champion"],
                groups,
                n_groups,
                "paired t" + (", cluster-robust" if groups is not None else ""),
            ),
        )
    progress("metrics", 0.4)

    centred = y - y.mean()
    names = list(models)
    columns = [np.ones_like(y), centred, centred * centred] + [errors[who] ** 2 for who in names]
    totals = resampler.unit_totals(np.stack(columns, axis=1))
    sse = {who: float(errors[who] @ errors[who]) for who in names}
    _regression_resampled(
        results, names, totals, sse, float(centred @ centred), len(y), resampler=resampler, progress=progress
    )


def _regression_resampled(
    results: _Results,
    names: list[str],
    totals: np.ndarray,
    sse: dict[str, float],
    centred_squares: float,
    n_rows: int,
    *,
    resampler: Resampler,
    progress: _Progress,
) -> None:
    """RMSE and R² with their bootstrap intervals from per-unit totals of [1, y − ȳ, (y − ȳ)², e² per model]."""
    paired = len(names) == 2
    grouped = resampler.grouped
    # Per-unit squares for each resample's own MSE standard error (the studentized interval of the RMSE).
    sizes = totals[:, 0]
    squares = np.stack(
        [sizes * sizes] + [c for j in range(len(names)) for c in (totals[:, 3 + j] ** 2, totals[:, 3 + j] * sizes)],
        axis=1,
    )
    draws = {who: np.empty((resampler.n_resamples, 2)) for who in names}
    mse_draws = {who: np.empty((resampler.n_resamples, 2)) for who in names}
    for part, weights in resampler.chunks():
        sums = weights @ totals
        square_sums = weights @ squares
        for j, who in enumerate(names):
            rmse, r2 = mt.regression_scores(sums[:, 0], sums[:, 1], sums[:, 2], sums[:, 3 + j])
            draws[who][part, 0] = rmse
            draws[who][part, 1] = r2
            unit_sums = np.stack(
                [sums[:, 0], sums[:, 3 + j], square_sums[:, 0], square_sums[:, 1 + 2 * j], square_sums[:, 2 + 2 * j]],
                axis=1,
            )
            mse_draws[who][part, 0], mse_draws[who][part, 1] = iv.unit_mean_and_se(unit_sums, resampler.n_units)
        progress("resampling", 0.4 + 0.55 * part.stop / resampler.n_resamples)
    point = {}
    for who in names:
        rmse = math.sqrt(sse[who] / n_rows)
        r2 = 1.0 - sse[who] / centred_squares
        point[who] = (rmse, r2)
    rmse_method = "studentized bootstrap of the MSE on the log scale" + (", by group" if grouped else "")
    square_totals = squares.sum(axis=0)
    for j, who in enumerate(names):
        unit_sums = np.array(
            [sizes.sum(), totals[:, 3 + j].sum(), square_totals[0], square_totals[1 + 2 * j], square_totals[2 + 2 * j]]
        )
        mse, se = (float(v) for v in iv.unit_mean_and_se(unit_sums, resampler.n_units))
        low, high = iv.studentized_log_interval(mse, se, mse_draws[who][:, 0], mse_draws[who][:, 1])
        reason = None
        if low is None and se > 0:
            reason = "too few resampling units to bound the RMSE: some resamples' standard errors were near zero"
        low, high = (None if v is None else math.sqrt(v) for v in (low, high))
        results.interval("rmse", who, point[who][0], low, high, rmse_method, reason)
    for who in names:
        results.from_draws("r2", who, point[who][1], draws[who][:, 1])
    for j, metric in enumerate(("rmse", "r2")):
        if paired:
            results.paired_draws(
                metric,
                point["challenger"][j] - point["champion"][j],
                draws["challenger"][:, j],
                draws["champion"][:, j],
            )


# --- the entry point ---------------------------------------------------------------------------------
def evaluate(
    *,
    task: str,
    truth: Truth | str | Path,
    predictions: Predictions | str | Path,
    champion: Predictions | str | Path | None = None,
    primary: str | None = None,
    threshold: float = 0.5,
    seed: int = 0,
    n_resamples: int = 1000,
    progress: Progress | None = None,
) -> dict:
    """Evaluate a challenger (``predictions``), optionally against a ``champion``, on ``truth``.

    ``truth``, ``predictions`` and ``champion`` are paths (read and validated here, raising
    ``EvaluationInputError``) or objects from ``read_truth`` / ``read_predictions``. ``primary``
    defaults to ``DEFAULT_PRIMARY[task]``. ``threshold`` is the binary decision threshold (a score ≥ it
    is positive). Results depend only on the inputs and ``seed``. ``progress(stage, fraction)`` receives
    the overall fraction done (0…1) with the stage: ``parsing``, ``metrics``, ``resampling``, ``done``.

    Returns the report as a JSON-ready dict: ``task``, ``n_rows``, ``n_groups`` (``None`` without a
    group column), ``metrics`` {name: {value, ci_low, ci_high}}, ``comparison`` (primary metric, only
    with a champion: primary, challenger, champion, delta, ci_low, ci_high, p_value, method, verdict),
    and also ``coverage``, ``comparisons`` (every metric), ``champion_metrics``, ``curves`` (binary:
    downsampled FAR/FRR points per model), ``interval_methods``, ``resampling`` and ``settings``.
    """
    report = _Progress(progress)
    primary, truth, models = _prepare(task, truth, predictions, champion, primary, threshold, n_resamples, report)

    results = _Results(task, paired="champion" in models, n_groups=truth.n_groups)
    # Every group total is taken over group codes in a canonical order, so no result depends on the labels.
    canonical = canonical_groups(truth)
    resampler = Resampler(
        n_rows=truth.n_rows,
        groups=canonical,
        n_groups=truth.n_groups,
        n_resamples=n_resamples,
        seed=seed,
    )
    curves = {}
    # One BLAS thread: the products here are many and mid-sized, and OpenBLAS's spinning worker threads
    # made them several times slower (and slowed the numpy code between them) on a shared 2-core machine.
    with _one_blas_thread():
        if task == "binary":
            curves = _binary(
                truth, models, results, threshold=threshold, resampler=resampler, progress=report, groups=canonical
            )
        elif task == "multiclass":
            _multiclass(truth, models, results, resampler=resampler, progress=report, groups=canonical)
        else:
            _regression(truth, models, results, resampler=resampler, progress=report, groups=canonical)
    report("done", 1.0)
    return _report(task, primary, threshold, seed, truth, models, results, resampler, curves)


def check_settings(task: str, primary: str | None, n_resamples: int, threshold: float) -> str:
    """Check an evaluation's settings (``ValueError`` naming the one that is wrong); gives the primary metric."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, not {task!r}")
    primary = primary or mt.DEFAULT_PRIMARY[task]
    mt.check_metric(task, primary)
    if int(n_resamples) < 1:
        raise ValueError("n_resamples must be at least 1")
    if not math.isfinite(threshold):
        raise ValueError("threshold must be a finite number")
    return primary


def _prepare(task, truth, predictions, champion, primary, threshold, n_resamples, report):
    """Check the arguments and read the inputs: (primary, truth, models by role)."""
    primary = check_settings(task, primary, n_resamples, threshold)
    report("parsing", 0.0)
    if not isinstance(truth, Truth):
        truth = read_truth(truth, task=task)
    elif truth.task != task:
        raise ValueError(f"the truth was read for a {truth.task} task, not {task}")
    report("parsing", 0.1)
    models: dict[str, Predictions] = {}
    for who, given, done in (("challenger", predictions, 0.2), ("champion", champion, 0.3)):
        if given is None:
            continue
        models[who] = given if isinstance(given, Predictions) else read_predictions(given, truth=truth)
        if len(models[who].present) != truth.n_rows:
            raise ValueError(f"the {who} predictions were read against another truth file")
        report("parsing", done)
    _check_primary_computable(task, primary, models)
    return primary, truth, models


def _report(
    task: str,
    primary: str,
    threshold: float,
    seed: int,
    truth: Truth,
    models: dict[str, Predictions],
    results: _Results,
    resampler: Resampler,
    curves: dict,
) -> dict:
    """The JSON-ready report from the collected results (shared with the sharded engine)."""
    metrics, champion_metrics, comparisons, methods = results.render()
    out = {
        "task": task,
        "n_rows": truth.n_rows,
        "n_groups": truth.n_groups,
        "metrics": metrics,
    }
    if "champion" in models:
        main = comparisons[primary]
        out["comparison"] = {
            "primary": primary,
            **{
                key: main[key]
                for key in (
                    "challenger",
                    "champion",
                    "delta",
                    "ci_low",
                    "ci_high",
                    "p_value",
                    "method",
                    "verdict",
                    "reason",
                )
            },
        }
        if main.get("approximate"):
            out["comparison"]["approximate"] = True
        out["comparisons"] = comparisons
        out["champion_metrics"] = champion_metrics
    out["coverage"] = {who: p.describe() for who, p in models.items()}
    out["curves"] = curves
    out["interval_methods"] = methods
    out["resampling"] = {"units": resampler.kind, "n_units": resampler.n_units, "n_resamples": resampler.n_resamples}
    out["support"] = {
        "n_groups": truth.n_groups,
        "min_groups_for_verdict": support.MIN_GROUPS_FOR_VERDICT,
        "approximate_below_groups": support.APPROXIMATE_BELOW_GROUPS,
        "approximate": results.approximate,
        "reason": results.groups_reason,
        "not_estimable": dict(results.not_estimable),
    }
    out["settings"] = {
        "primary": primary,
        "threshold": threshold if task == "binary" else None,
        "seed": seed,
        "confidence": iv.CONFIDENCE,
        "truth": truth.name,
        "challenger": models["challenger"].name,
        "champion": models["champion"].name if "champion" in models else None,
    }
    return out


def canonical_groups(truth: Truth) -> np.ndarray | None:
    """Group codes in a canonical order (by each group's smallest row id), or None without groups.

    Bootstrap weights are drawn per unit in code order; ordering groups by their content rather than
    by first appearance or label makes results independent of how groups are spelled or rows ordered.
    """
    if truth.groups is None:
        return None
    ids = truth.ids
    if not isinstance(ids, pa.Array | pa.ChunkedArray):
        ids = pa.array(np.asarray(ids).astype(str))
    table = pa.table({"g": pa.array(truth.groups), "id": ids})
    smallest = table.group_by("g").aggregate([("id", "min")])
    order = pc.sort_indices(smallest, sort_keys=[("id_min", "ascending")]).to_numpy()
    codes = smallest.column("g").to_numpy()[order]
    rank = np.empty(truth.n_groups, dtype=np.int64)
    rank[codes] = np.arange(len(codes))
    return rank[truth.groups]


def _check_primary_computable(task: str, primary: str, models: dict[str, Predictions]) -> None:
    """A probability metric as primary needs probabilities from every model: say which file lacks them."""
    if task == "binary" and primary in mt.PROBABILITY_METRICS:
        for p in models.values():
            if not p.is_probability:
                present = np.flatnonzero(p.present)
                outside = present[(p.scores[present] < 0) | (p.scores[present] > 1)]
                raise p.error(
                    f"{primary} needs probabilities, but the score {float(p.scores[outside[0]])!r} is outside [0, 1]",
                    truth_row=int(outside[0]),
                    column="score",
                )
    if task == "multiclass" and primary == "log_loss":
        for p in models.values():
            if p.proba is None:
                raise EvaluationInputError("log_loss needs p_<class> probability columns", file=p.name, line=1)
