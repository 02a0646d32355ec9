"""The sharded engine gives the single-process engine's report, bootstrap included, to 1e-12."""

from __future__ import annotations

import itertools
import math
import os
import signal
import sys

import numpy as np
import pytest

from experiments.evaluation import evaluate, resampling, sharding
from experiments.evaluation.reading import Predictions, Truth
from experiments.evaluation.sharding import evaluate_sharded, row_ranges

TOLERANCE = 1e-12


def assert_same(a, b, path="report"):
    """Equal structure and strings; numbers equal to 1e-12 (relative above 1)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), path
        for key in a:
            assert_same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{k}]")
    elif isinstance(a, float) and not isinstance(b, bool):
        assert isinstance(b, float | int), path
        assert math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE), f"{path}: {a!r} != {b!r}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def regression(n, groups, seed, heavy=False):
    rng = np.random.default_rng(seed)
    g = None if groups is None else rng.integers(0, groups, n)
    y = rng.normal(size=n) + (0 if g is None else rng.normal(size=groups)[g])
    truth = Truth.from_arrays(task="regression", y=y, groups=None if g is None else [f"s{v}" for v in g])
    noise = rng.standard_t(3, n) if heavy else rng.normal(size=n)
    challenger = Predictions.from_arrays(truth=truth, values=y + noise, name="challenger")
    champion = Predictions.from_arrays(truth=truth, values=y + 1.1 * rng.normal(size=n), name="champion")
    return truth, challenger, champion


def multiclass(n, groups, seed, proba=True, missing=0.0):
    rng = np.random.default_rng(seed)
    g = None if groups is None else rng.integers(0, groups, n)
    y = rng.integers(0, 4, n)
    truth = Truth.from_arrays(task="multiclass", y=y, groups=None if g is None else [f"s{v}" for v in g])

    def model(accuracy, name):
        labels = np.where(rng.random(n) < accuracy, y, rng.integers(0, 4, n))
        p = rng.dirichlet(np.ones(4), n) if proba else None
        present = rng.random(n) >= missing
        return Predictions.from_arrays(truth=truth, labels=labels, proba=p, present=present, name=name)

    return truth, model(0.7, "challenger"), model(0.65, "champion")


def binary(n, groups, seed, ties=None, missing=0.0, probability=True):
    rng = np.random.default_rng(seed)
    g = None if groups is None else rng.integers(0, groups, n)
    y = (rng.random(n) < 0.3).astype(int)
    truth = Truth.from_arrays(task="binary", y=y, groups=None if g is None else [f"s{v}" for v in g])

    def model(signal, name):
        score = 1 / (1 + np.exp(-(signal * (2 * y - 1) + rng.normal(size=n))))
        if ties:
            score = np.round(score, ties)
        if not probability:
            score = 10 * score - 3
        present = rng.random(n) >= missing
        return Predictions.from_arrays(truth=truth, scores=score, present=present, name=name)

    return truth, model(1.2, "challenger"), model(1.0, "champion")


# name → (data, the resampling units it exercises with at most 500 units)
CASES = {
    "regression, rows": (lambda: regression(400, None, 1), "rows"),
    "regression, row buckets": (lambda: regression(2500, None, 2, heavy=True), "random buckets of rows"),
    "regression, groups": (lambda: regression(2500, 40, 3), "groups"),
    "regression, group buckets": (lambda: regression(2500, 900, 4), "random buckets of groups"),
    "binary, rows": (lambda: binary(450, None, 21), "rows"),
    "binary, row buckets, ties": (lambda: binary(3000, None, 22, ties=2), "random buckets of rows"),
    "binary, missing rows, not probabilities": (
        lambda: binary(3000, None, 23, missing=0.04, probability=False),
        "random buckets of rows",
    ),
    "binary, groups, ties, missing rows": (lambda: binary(3000, 50, 24, ties=3, missing=0.02), "groups"),
    "binary, group buckets": (lambda: binary(3000, 900, 25), "random buckets of groups"),
    "multiclass, rows": (lambda: multiclass(450, None, 5), "rows"),
    "multiclass, missing rows, no probabilities": (
        lambda: multiclass(2500, None, 6, proba=False, missing=0.05),
        "random buckets of rows",
    ),
    "multiclass, groups, missing rows": (lambda: multiclass(2500, 60, 7, missing=0.03), "groups"),
    "multiclass, group buckets": (lambda: multiclass(2500, 900, 8), "random buckets of groups"),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("n_shards", [1, 3, 7])
def test_sharded_equals_single_process(case, n_shards, monkeypatch):
    # 500 units at most, so 2,500 rows (or 900 groups) are resampled in random buckets as large data are.
    monkeypatch.setattr(resampling, "MAX_UNITS", 500)
    make, units = CASES[case]
    truth, challenger, champion = make()
    task = truth.task
    whole = evaluate(task=task, truth=truth, predictions=challenger, champion=champion, n_resamples=120, seed=9)
    sharded = evaluate_sharded(
        task=task, truth=truth, predictions=challenger, champion=champion, n_resamples=120, seed=9, n_shards=n_shards
    )
    assert_same(whole, sharded)
    assert sharded["resampling"]["units"] == units


def test_without_a_champion():
    truth, challenger, _ = regression(800, 30, 11)
    whole = evaluate(task="regression", truth=truth, predictions=challenger, n_resamples=50)
    assert_same(
        whole, evaluate_sharded(task="regression", truth=truth, predictions=challenger, n_resamples=50, n_shards=4)
    )


ROC = ["frr_at_far_1e-2", "frr_at_far_1e-3", "f1"]


@pytest.mark.parametrize(
    ("make", "metrics", "n_shards"),
    [
        (lambda: regression(3000, 700, 12), ["rmse", "r2"], 5),
        (lambda: binary(6000, None, 13, ties=3, missing=0.01), ROC, 5),
        (lambda: binary(6000, 900, 14), ROC, 5),
        # Narrow score ranges: the resamples' FAR crossings fall in several different ranges.
        (lambda: binary(6000, None, 16, ties=3), ROC, 150),
        (lambda: binary(6000, 900, 17), ROC, 150),
        (lambda: multiclass(3000, 40, 15), ["macro_f1", "balanced_accuracy"], 5),
    ],
    ids=["regression", "binary", "binary-groups", "binary-narrow-ranges", "binary-groups-narrow", "multiclass"],
)
def test_every_bootstrap_resample_agrees(make, metrics, n_shards, monkeypatch):
    """Equal intervals could hide different resamples: compare every resample's value, metric by metric."""
    from experiments.evaluation import engine

    monkeypatch.setattr(resampling, "MAX_UNITS", 300)
    captured: dict[str, list] = {"whole": [], "sharded": []}
    original = engine._Results.paired_draws
    target = ["whole"]

    def spy(self, metric, delta, draws_1, draws_2):
        captured[target[0]].append((metric, draws_1.copy(), draws_2.copy()))
        return original(self, metric, delta, draws_1, draws_2)

    monkeypatch.setattr(engine._Results, "paired_draws", spy)
    truth, challenger, champion = make()
    task = truth.task
    evaluate(task=task, truth=truth, predictions=challenger, champion=champion, n_resamples=80)
    target[0] = "sharded"
    evaluate_sharded(
        task=task, truth=truth, predictions=challenger, champion=champion, n_resamples=80, n_shards=n_shards
    )
    assert [m for m, *_ in captured["whole"]] == [m for m, *_ in captured["sharded"]] == metrics
    for (metric, a1, a2), (_, b1, b2) in zip(captured["whole"], captured["sharded"], strict=True):
        assert np.isfinite(a1).sum() > 40, metric  # the comparison is not vacuous
        np.testing.assert_allclose(b1, a1, rtol=TOLERANCE, atol=0, err_msg=metric)
        np.testing.assert_allclose(b2, a2, rtol=TOLERANCE, atol=0, err_msg=metric)


def test_row_ranges_cover_every_row_once():
    for n, k in ((10, 3), (3, 7), (1000, 1), (1001, 10)):
        ranges = row_ranges(n, k)
        assert ranges[0][0] == 0 and ranges[-1][1] == n
        assert all(b == c for (_, b), (c, _) in itertools.pairwise(ranges))
        assert len(ranges) == min(n, k)


# --- worker processes: the same report, and a killed shard is run again ------------------------------
@pytest.mark.parametrize(
    "make",
    [lambda: binary(4000, 70, 31, ties=2, missing=0.02), lambda: regression(3000, None, 32)],
    ids=["binary-groups", "regression"],
)
def test_worker_processes_give_the_same_report(make, tmp_path, monkeypatch):
    monkeypatch.setattr(resampling, "MAX_UNITS", 500)
    truth, challenger, champion = make()
    task = truth.task
    whole = evaluate(task=task, truth=truth, predictions=challenger, champion=champion, n_resamples=60, seed=2)
    sharded = evaluate_sharded(
        task=task,
        truth=truth,
        predictions=challenger,
        champion=champion,
        n_resamples=60,
        seed=2,
        n_shards=4,
        workers=2,
        directory=str(tmp_path),
    )
    assert_same(whole, sharded)


RUNS: list = []  # [folder] where the dying shard leaves one file per run (set before the workers fork)


SHARDS = {
    "scan": sharding.scan_shard,
    "rank": sharding.rank_shard,
    "reduce": sharding.reduce_shard,
    "draws": sharding.draws_shard,
}


class DiesOnFirstRun:
    """A shard call whose process is killed (SIGKILL) on the phase's first run, after doing the work (and,
    for a score range, writing its placements) but before reporting it."""

    def __init__(self, phase: str) -> None:
        self.phase = phase

    def __call__(self, *args):
        result = SHARDS[self.phase](*args)
        key = "-".join(str(a) for a in args if isinstance(a, int | str))
        first = not any(RUNS[0].glob(f"{self.phase}-*"))
        runs = len(list(RUNS[0].glob(f"{self.phase}-{key}-*")))
        (RUNS[0] / f"{self.phase}-{key}-{runs}").write_text(str(os.getpid()))
        if first:
            (RUNS[0] / f"killed-{self.phase}-{key}").write_text("")
            os.kill(os.getpid(), signal.SIGKILL)
        return result


@pytest.mark.parametrize("phase", ["scan", "rank", "reduce", "draws"])
def test_a_shard_killed_mid_run_is_run_again_and_counted_once(phase, tmp_path, monkeypatch):
    monkeypatch.setattr(resampling, "MAX_UNITS", 500)
    truth, challenger, champion = binary(4000, 70, 33, ties=2)
    whole = evaluate(task="binary", truth=truth, predictions=challenger, champion=champion, n_resamples=60)
    runs = tmp_path / "runs"
    runs.mkdir()
    monkeypatch.setattr(sys.modules[__name__], "RUNS", [runs])
    monkeypatch.setattr(sharding, f"{phase}_shard", DiesOnFirstRun(phase))
    sharded = evaluate_sharded(
        task="binary",
        truth=truth,
        predictions=challenger,
        champion=champion,
        n_resamples=60,
        n_shards=4,
        workers=2,
        directory=str(tmp_path),
    )
    assert_same(whole, sharded)
    killed = [p.name.removeprefix("killed-") for p in runs.glob("killed-*")]
    assert killed  # at least one shard was killed...
    for name in killed:
        assert len(list(runs.glob(f"{name}-*"))) >= 2  # ...and run again


# --- edge cases -----------------------------------------------------------------------------------------
def _tied(n, seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(int)
    truth = Truth.from_arrays(task="binary", y=y)
    flat = Predictions.from_arrays(truth=truth, scores=np.full(n, 0.5), name="challenger")
    coarse = Predictions.from_arrays(truth=truth, scores=np.round(rng.random(n) * 0.3 + 0.4 * y, 1), name="champion")
    return truth, flat, coarse


def _tiny(n, seed):
    rng = np.random.default_rng(seed)
    y = np.array([0, 1] * (n // 2))
    truth = Truth.from_arrays(task="binary", y=y, groups=np.arange(n) % 3)
    a = Predictions.from_arrays(truth=truth, scores=rng.random(n), name="challenger")
    b = Predictions.from_arrays(truth=truth, scores=rng.random(n), name="champion")
    return truth, a, b


EDGES = {
    "every score tied, and a coarse model": lambda: _tied(900, 41),
    "more shards than rows in a group": lambda: _tiny(8, 42),
    "one positive": lambda: (
        lambda t: (
            t,
            Predictions.from_arrays(truth=t, scores=np.linspace(0, 1, 300), name="challenger"),
            Predictions.from_arrays(truth=t, scores=np.linspace(1, 0, 300), name="champion"),
        )
    )(Truth.from_arrays(task="binary", y=np.r_[np.zeros(299, int), 1])),
    "perfect separation": lambda: (
        lambda y, t: (
            t,
            Predictions.from_arrays(truth=t, scores=y + 0.1, name="challenger"),
            Predictions.from_arrays(truth=t, scores=y * 0.5, name="champion"),
        )
    )(*(lambda y: (y, Truth.from_arrays(task="binary", y=y)))(np.r_[np.zeros(500, int), np.ones(500, int)])),
}


@pytest.mark.parametrize("case", list(EDGES))
@pytest.mark.parametrize("n_shards", [1, 5])
def test_edge_cases_agree(case, n_shards):
    truth, challenger, champion = EDGES[case]()
    whole = evaluate(task="binary", truth=truth, predictions=challenger, champion=champion, n_resamples=50)
    sharded = evaluate_sharded(
        task="binary", truth=truth, predictions=challenger, champion=champion, n_resamples=50, n_shards=n_shards
    )
    assert_same(whole, sharded)


@pytest.mark.parametrize(("primary", "threshold"), [("auc", 0.5), ("accuracy", 0.3), ("log_loss", 0.7)])
def test_without_a_champion_and_other_settings_binary(primary, threshold):
    truth, challenger, champion = binary(1500, 25, 43, ties=2)
    for champ in (None, champion):
        kwargs = {"task": "binary", "truth": truth, "predictions": challenger, "champion": champ}
        kwargs.update(primary=primary, threshold=threshold)
        assert_same(evaluate(**kwargs, n_resamples=40), evaluate_sharded(**kwargs, n_resamples=40, n_shards=3))


def test_files_read_by_the_reader_agree(tmp_path):
    """Paths are read and checked as ``evaluate`` reads them; group labels and ids come from the files."""
    from tests.experiments.evaluation.helpers import write_binary

    rng = np.random.default_rng(51)
    n = 1200
    y = (rng.random(n) < 0.35).astype(int)
    groups = rng.integers(0, 30, n)
    models = {name: np.round(rng.random(n) * 0.6 + 0.4 * y, 3) for name in ("challenger", "champion")}
    present = {"champion": rng.random(n) > 0.03}
    paths = write_binary(tmp_path, y, models, groups=groups, present=present)
    args = {"task": "binary", "truth": paths["truth"], "predictions": paths["challenger"]}
    args["champion"] = paths["champion"]
    whole = evaluate(**args, n_resamples=60)
    assert_same(whole, evaluate_sharded(**args, n_resamples=60, n_shards=3))
    assert whole["coverage"]["champion"]["missing"] > 0
