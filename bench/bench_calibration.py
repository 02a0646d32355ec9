"""Calibration of the evaluation engine by simulation: `python -m bench calibration`.

Every trial draws data from a model whose population values are known, runs the public ``evaluate()``
exactly as the workers do (1,000 resamples), and counts. Cells:

- **equal models**, per task (binary, multiclass, regression) over independent rows (200) and over
  G ∈ {5, 10, 20, 60} groups of 20 rows with a subject effect per model: the type-I error of every verdict
  (``better``/``worse`` when the two models are equally good), the coverage of the interval of the
  difference (true value 0) and of the challenger's own interval where the population value has a closed
  form, and how often the engine answered ``insufficient_data``;
- **rare errors**: FRR at FAR 1e-2 with 600 negatives (not estimable: 6 expected exceedances) and with
  2,100 negatives (reported), coverage where reported;
- **power**: AUC 0.80 vs 0.83, n = 2,000, independent rows: the engine's verdict against a plain paired
  DeLong z test written out here;
- **sequence**: 50 challengers all equal to the champion on one evaluation set (shared rows, shared
  champion), gated by LORD++ (``experiments.evaluation.sequential``) and by a plain 5% each time; and the
  same with a real improvement (AUC 0.80 → 0.85, and → 0.86) arriving at test 25.

With T trials the Monte Carlo standard error of a rate p is √(p(1 − p)/T): 1.1% at 5%, T = 400.

    python -m bench calibration                          # 400 trials per cell, both cores (~10 min)
    python -m bench.bench_calibration --quick            # a smoke test: 8 trials, 100 resamples
    python -m bench calibration --only eer --only G=10   # part of the table (printed, not saved)
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

TRIALS = 400
CHOSEN = "LORD++ (γ_j ∝ j^-1.5, W0 = α/2)"
RESAMPLES = 1000
SEED = 15
GROUP_COUNTS = (5, 10, 20, 60)
ROWS_PER_GROUP = 20
INDEPENDENT_ROWS = 200
OUT = Path(__file__).resolve().parent / "calibration_results.txt"

Phi = stats.norm.cdf


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# --- data --------------------------------------------------------------------------------------------------
MU, TAU, RHO = 1.5, 0.5, 0.6


def _design(rng, groups: int | None, n: int):
    if groups is None:
        return None, n
    return np.repeat(np.arange(groups), ROWS_PER_GROUP), groups * ROWS_PER_GROUP


def _noise_pair(rng, n):
    shared = rng.normal(size=n)
    return shared, RHO * shared + np.sqrt(1 - RHO**2) * rng.normal(size=n)


def _effects(rng, groups, group):
    """A subject effect per model (the models disagree subject by subject; equally good overall)."""
    if groups is None:
        return 0.0, 0.0
    return rng.normal(0, TAU, groups)[group], rng.normal(0, TAU, groups)[group]


def binary_population(prevalence: float = 0.5, grouped: bool = True) -> dict[str, float]:
    sd = np.sqrt(1 + (TAU**2 if grouped else 0.0))
    return {
        "auc": Phi(MU / (sd * np.sqrt(2))),
        "eer": Phi(-MU / (2 * sd)),
        "accuracy": prevalence * Phi(MU / sd) + (1 - prevalence) * 0.5,
        "frr_at_far_1e-2": Phi((sd * stats.norm.isf(1e-2) - MU) / sd),
        "frr_at_far_1e-3": Phi((sd * stats.norm.isf(1e-3) - MU) / sd),
    }


def binary_case(rng, groups, n=INDEPENDENT_ROWS, prevalence=0.5):
    from experiments.evaluation import Predictions, Truth

    group, n = _design(rng, groups, n)
    y = (rng.random(n) < prevalence).astype(int)
    a, b = _effects(rng, groups, group)
    e1, e2 = _noise_pair(rng, n)
    truth = Truth.from_arrays(task="binary", y=y, groups=group)
    return (
        truth,
        Predictions.from_arrays(truth=truth, scores=_sigmoid(MU * y + a + e1)),
        Predictions.from_arrays(truth=truth, scores=_sigmoid(MU * y + b + e2)),
    )


def multiclass_case(rng, groups, n=INDEPENDENT_ROWS, k=3):
    from experiments.evaluation import Predictions, Truth

    group, n = _design(rng, groups, n)
    y = rng.integers(0, k, n)
    truth = Truth.from_arrays(task="multiclass", y=np.array([f"c{j}" for j in y]), groups=group)
    out = []
    for _ in range(2):
        logits = rng.normal(0, 1, (n, k))
        if groups is not None:
            logits += rng.normal(0, TAU, (groups, k))[group]
        logits[np.arange(n), y] += MU
        proba = np.exp(logits - logits.max(axis=1, keepdims=True))
        proba /= proba.sum(axis=1, keepdims=True)
        labels = np.array([f"c{j}" for j in proba.argmax(axis=1)])
        out.append(Predictions.from_arrays(truth=truth, labels=labels, proba=proba))
    return truth, out[0], out[1]


def regression_case(rng, groups, n=INDEPENDENT_ROWS):
    from experiments.evaluation import Predictions, Truth

    group, n = _design(rng, groups, n)
    y = rng.normal(size=n) + (rng.normal(0, 1, groups)[group] if groups is not None else 0)
    a, b = _effects(rng, groups, group)
    e1, e2 = _noise_pair(rng, n)
    truth = Truth.from_arrays(task="regression", y=y, groups=group)
    return (
        truth,
        Predictions.from_arrays(truth=truth, values=y + a + e1),
        Predictions.from_arrays(truth=truth, values=y + b + e2),
    )


def regression_population(grouped: bool) -> dict[str, float]:
    sd = np.sqrt(1 + (TAU**2 if grouped else 0.0))
    return {"mae": sd * np.sqrt(2 / np.pi), "rmse": sd}


CASES = {"binary": binary_case, "multiclass": multiclass_case, "regression": regression_case}


# --- one cell ---------------------------------------------------------------------------------------------
def run_cell(args: tuple) -> dict:
    """Equal models: per metric the verdict rate, the difference's coverage of 0 and the challenger's coverage."""
    from experiments.evaluation import evaluate

    task, groups, trials, resamples, seed, extra = args
    rng = np.random.default_rng([SEED, seed])
    population = {}
    if task == "binary":
        population = binary_population(extra.get("prevalence", 0.5), grouped=groups is not None)
    elif task == "regression":
        population = regression_population(grouped=groups is not None)
    counts: dict[str, dict[str, int]] = {}
    for trial in range(trials):
        kwargs = {k: v for k, v in extra.items() if k in ("n", "prevalence")}
        truth, challenger, champion = CASES[task](rng, groups, **kwargs)
        report = evaluate(
            task=task, truth=truth, predictions=challenger, champion=champion, seed=trial, n_resamples=resamples
        )
        for metric, entry in report["comparisons"].items():
            c = counts.setdefault(
                metric, dict.fromkeys(("called", "insufficient", "reported", "covered", "own", "own_covered"), 0)
            )
            if entry["verdict"] in ("better", "worse"):
                c["called"] += 1
            if entry["verdict"] == "insufficient_data":
                c["insufficient"] += 1
            if entry["ci_low"] is not None:
                c["reported"] += 1
                c["covered"] += entry["ci_low"] <= 0 <= entry["ci_high"]
            own = report["metrics"][metric]
            if metric in population and own["ci_low"] is not None:
                c["own"] += 1
                c["own_covered"] += own["ci_low"] <= population[metric] <= own["ci_high"]
    return {"task": task, "groups": groups, "trials": trials, "label": extra.get("label"), "counts": counts}


def run_power(args: tuple) -> dict:
    """AUC 0.80 vs 0.83, n = 2,000: the engine's verdict against a plain paired DeLong z test."""
    from experiments.evaluation import Predictions, Truth, evaluate

    trials, seed = args
    rng = np.random.default_rng([SEED, seed])
    n = 2000
    # AUC = Φ(μ / √2) for unit-variance normal scores.
    mu_1, mu_2 = np.sqrt(2) * stats.norm.ppf(0.83), np.sqrt(2) * stats.norm.ppf(0.80)
    engine = plain = 0
    for trial in range(trials):
        y = (rng.random(n) < 0.5).astype(int)
        e1, e2 = _noise_pair(rng, n)
        s1, s2 = mu_1 * y + e1, mu_2 * y + e2
        truth = Truth.from_arrays(task="binary", y=y)
        report = evaluate(
            task="binary",
            truth=truth,
            predictions=Predictions.from_arrays(truth=truth, scores=s1),
            champion=Predictions.from_arrays(truth=truth, scores=s2),
            seed=trial,
            n_resamples=20,  # the AUC verdict is analytic; the resamples only feed other metrics
        )
        engine += report["comparison"]["verdict"] == "better"
        z, _ = _plain_delong(np.stack([s1, s2]), y)
        plain += z > stats.norm.isf(0.025)
    return {"trials": trials, "engine": engine / trials, "plain": plain / trials}


def _plain_delong(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Paired DeLong z statistic written out from the 1988 paper (structural components by midranks)."""
    pos, neg = scores[:, y == 1], scores[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    v10, v01 = np.empty_like(pos), np.empty_like(neg)
    theta = np.empty(len(scores))
    for k in range(len(scores)):
        all_ranks = stats.rankdata(np.concatenate([pos[k], neg[k]]))
        pos_ranks, neg_ranks = stats.rankdata(pos[k]), stats.rankdata(neg[k])
        v10[k] = (all_ranks[:m] - pos_ranks) / n
        v01[k] = 1 - (all_ranks[m:] - neg_ranks) / m
        theta[k] = v10[k].mean()
    cov = np.cov(v10) / m + np.cov(v01) / n
    delta = theta[0] - theta[1]
    return delta / np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]), delta


def run_sequence(args: tuple) -> dict:
    """50 challengers on one evaluation set (n = 2,000, AUC 0.80), one champion; p-values from the engine's DeLong.

    ``improve_at``: the challenger at that test is truly better (AUC 0.85) and, when promoted, becomes the champion.
    """
    from experiments.evaluation import intervals as iv
    from experiments.evaluation.roc import placements, rank
    from experiments.evaluation.sequential import Lord, gamma_javanmard_montanari

    trials, seed, improve_at, better_auc = args
    rng = np.random.default_rng([SEED, seed])
    n, looks = 2000, 50
    mu, mu_better = np.sqrt(2) * stats.norm.ppf(0.80), np.sqrt(2) * stats.norm.ppf(better_auc)
    procedures = {
        CHOSEN: Lord(),
        "LORD++ (Javanmard–Montanari γ, W0 = α/2)": Lord(spending=gamma_javanmard_montanari),
    }
    any_false = dict.fromkeys([*procedures, "5% each time"], 0)
    promoted_25 = dict.fromkeys([*procedures, "5% each time"], 0)
    for _ in range(trials):
        y = (rng.random(n) < 0.5).astype(int)
        shared = rng.normal(size=n)  # what every model finds hard on this set

        def scores(strength, y=y, shared=shared):
            return strength * y + RHO * shared + np.sqrt(1 - RHO**2) * rng.normal(size=n)

        champion_scores = scores(mu)
        p_values, better = [], []
        for t in range(1, looks + 1):
            strength = mu_better if t == improve_at else mu
            challenger = scores(strength)
            values = np.stack([placements(rank(s, y)) for s in (challenger, champion_scores)])
            theta, cov = iv.auc_covariance(values, y)
            diff = iv.normal_difference(theta[0] - theta[1], cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], "DeLong")
            p_values.append(diff.p_value if diff.delta > 0 else 1.0)
            better.append(t == improve_at)
        for name, procedure in procedures.items():
            decisions = procedure.run(p_values)
            any_false[name] += any(r for (_, r), b in zip(decisions, better, strict=True) if not b)
            promoted_25[name] += improve_at is not None and decisions[improve_at - 1][1]
        naive = [p <= 0.05 for p in p_values]
        any_false["5% each time"] += any(r for r, b in zip(naive, better, strict=True) if not b)
        promoted_25["5% each time"] += improve_at is not None and naive[improve_at - 1]
    return {
        "trials": trials,
        "improve_at": improve_at,
        "better_auc": better_auc,
        "any_false": {k: v / trials for k, v in any_false.items()},
        "promoted": {k: v / trials for k, v in promoted_25.items()},
    }


# --- the table -------------------------------------------------------------------------------------------
def _pct(x: float | None) -> str:
    return "  —  " if x is None else f"{100 * x:5.1f}"


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _cell_lines(cell: dict, failures: list[str]) -> list[str]:
    """The table rows of one cell; the targets it misses are appended to ``failures``."""
    lines = []
    setting = _setting(cell["task"], cell["groups"], cell["label"])
    for metric, c in cell["counts"].items():
        t = cell["trials"]
        type_i, insuff = c["called"] / t, c["insufficient"] / t
        cover = _rate(c["covered"], c["reported"])
        own = _rate(c["own_covered"], c["own"])
        lines.append(
            f"  {setting:<34} {metric:<17} {_pct(type_i):>6} {_pct(insuff):>6} {_pct(cover):>8} {_pct(own):>9}"
        )
        targeted = cell["groups"] is None or cell["groups"] >= 10
        if targeted and type_i > 0.07:
            failures.append(f"{setting} {metric}: type-I {type_i:.3f} > 0.07")
        if cell["groups"] == 5 and type_i > 0.07 and insuff < 1.0:
            failures.append(f"{setting} {metric}: type-I {type_i:.3f} at G=5 without insufficient_data")
        low = 0.93 if metric.startswith("frr_at_far") else 0.92
        for name, value in (("cover Δ", cover), ("cover own", own)):
            if targeted and value is not None and not (low <= value <= 0.975):
                failures.append(f"{setting} {metric}: {name} {value:.3f} outside [{low}, 0.975]")
    return lines


def format_table(
    cells: list[dict], power: dict | None, sequences: list[dict], *, trials: int, resamples: int, partial: bool = False
) -> str:
    lines = [
        f"Calibration of the evaluation engine ({trials} trials per cell, {resamples} resamples; equal models "
        "unless stated; rates in %)",
        "type-I = better/worse called; insuff = insufficient_data; cover Δ = difference interval covers 0 (where "
        "reported); cover own = challenger's interval covers the population value (where known and reported)",
        "",
        f"  {'setting':<34} {'metric':<17} {'type-I':>6} {'insuff':>6} {'cover Δ':>8} {'cover own':>9}",
    ]
    failures: list[str] = []
    for cell in cells:
        lines += _cell_lines(cell, failures)
    if power is not None:
        lines += [
            "",
            f"AUC power, 0.80 vs 0.83, n = 2,000, independent rows ({power['trials']} trials): engine "
            f"{_pct(power['engine'])}%, plain paired DeLong {_pct(power['plain'])}%",
        ]
        if power["engine"] < power["plain"] - 0.02:
            failures.append("AUC power more than 2 points below plain paired DeLong")
    if sequences:
        lines += ["", "Sequence of 50 challengers on one evaluation set (n = 2,000, AUC 0.80; α = 5%):"]
    for seq in sequences:
        what = (
            "all equal to the champion"
            if seq["improve_at"] is None
            else (f"a real improvement (AUC {seq['better_auc']:.2f}) at test {seq['improve_at']}")
        )
        lines.append(f"  {what} ({seq['trials']} trials)")
        for name in seq["any_false"]:
            extra = "" if seq["improve_at"] is None else f"; improvement promoted {_pct(seq['promoted'][name])}%"
            lines.append(f"    {name:<44} P(any false promotion) {_pct(seq['any_false'][name])}%{extra}")
        if seq["any_false"][CHOSEN] > 0.05:
            failures.append("sequence: P(any false promotion) above α = 5%")
        if seq["improve_at"] is not None and seq["better_auc"] >= 0.86 and seq["promoted"][CHOSEN] < 0.8:
            failures.append("sequence: an improvement to AUC 0.86 at test 25 was promoted in fewer than 80% of trials")
    lines += [
        "",
        "Targets: type-I ≤ 7% at G ≥ 10 and with independent rows (G = 5: ≤ 7% or insufficient_data); coverage "
        "92–97.5% (frr_at_far ≥ 93%) where reported; AUC power within 2 points of plain DeLong; P(any false "
        "promotion) ≤ 5%; an improvement to AUC 0.86 at test 25 promoted in ≥ 80% of trials.",
    ]
    if trials < TRIALS:
        lines.append(f"(targets are judged only with ≥ {TRIALS} trials per cell)")
    elif partial:
        lines.append(
            "Part of the table (--only); " + ("no target missed in it." if not failures else "targets missed:")
        )
        lines += [f"  {f}" for f in failures]
    else:
        lines.append("All targets met." if not failures else "Targets missed:\n  " + "\n  ".join(failures))
    return "\n".join(lines)


def _setting(task: str, groups: int | None, label: str | None) -> str:
    if label:
        return label
    return f"{task}, {INDEPENDENT_ROWS} rows" if groups is None else f"{task}, G={groups}×{ROWS_PER_GROUP}"


def _jobs(trials: int, resamples: int) -> list[tuple]:
    jobs = []
    seed = 0
    for task in CASES:
        for groups in (None, *GROUP_COUNTS):
            seed += 1
            jobs.append((task, groups, trials, resamples, seed, {}))
    rare = (
        (100, 1200, 0.5, "binary, 600 negatives"),
        (101, 3000, 0.3, "binary, 2,100 negatives"),
        # FRR at FAR 1e-3 needs 20,000 negatives: 25,000 negatives and 2,500 positives.
        (102, 27_500, 2_500 / 27_500, "binary, 25,000 negatives"),
    )
    for seed, n, prevalence, label in rare:
        jobs.append(("binary", None, trials, resamples, seed, {"n": n, "prevalence": prevalence, "label": label}))
    return jobs


def calibration(
    trials: int = TRIALS, resamples: int = RESAMPLES, processes: int = 2, only: list[str] | None = None
) -> tuple[str, bool]:
    """The whole table, or part of it: ``only`` holds settings (``"G=10"``, ``"negatives"``) and metric names
    (``"eer"``); a cell runs when its setting contains one of the settings given (any, if none is) and its task
    has one of the metrics given (any, if none is), and only those metrics are shown. The power and sequence
    parts run only when named (``power``, ``sequence``) or with no ``only`` at all."""
    from experiments.evaluation.metrics import METRICS

    jobs = _jobs(trials, resamples)
    metrics: list[str] = []
    if only:
        labels = [_setting(j[0], j[1], j[5].get("label")) for j in jobs]
        settings = [o for o in only if any(o in label for label in labels)]
        metrics = [o for o in only if o not in settings and o not in ("power", "sequence")]
        jobs = [
            j
            for j, label in zip(jobs, labels, strict=True)
            if (not settings or any(o in label for o in settings))
            and (not metrics or any(o in m for o in metrics for m in METRICS[j[0]]))
        ]
    sequence_args = [(trials, 300, None, 0.80), (trials, 301, 25, 0.85), (trials, 302, 25, 0.86)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        cells_async = pool.map_async(run_cell, jobs, chunksize=1)
        power_async = pool.apply_async(run_power, ((trials, 200),)) if not only or "power" in only else None
        want_sequence = not only or "sequence" in only
        seq_async = pool.map_async(run_sequence, sequence_args if want_sequence else [], chunksize=1)
        cells, sequences = cells_async.get(), seq_async.get()
        power = power_async.get() if power_async is not None else None
    if metrics:
        for cell in cells:
            cell["counts"] = {m: c for m, c in cell["counts"].items() if any(o in m for o in metrics)}
    table = format_table(cells, power, sequences, trials=trials, resamples=resamples, partial=bool(only))
    return table, "All targets met." in table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_calibration")
    parser.add_argument("--quick", action="store_true", help="a smoke test: 8 trials, 100 resamples, not saved")
    parser.add_argument("--trials", type=int, default=TRIALS)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--only",
        action="append",
        metavar="TEXT",
        help="run only the cells whose setting contains TEXT (repeatable; 'power' and 'sequence' name those "
        "parts); the table is printed, not saved",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None and __name__ == "__main__" else argv or [])
    trials, resamples = (8, 100) if args.quick else (args.trials, RESAMPLES)
    started = time.perf_counter()
    table, _ = calibration(trials, resamples, args.processes, only=args.only)
    elapsed = time.perf_counter() - started
    text = f"{table}\n\n({elapsed:.0f} s on {os.cpu_count()} CPUs, {args.processes} processes)\n"
    print(text, flush=True)
    if not args.quick and not args.only:
        OUT.write_text(text)
        print(f"saved to {OUT}", flush=True)


if __name__ == "__main__":
    main()
